"""A filing's canonical JSON, written out field by field, is the text docs/filings.md defines: its ``canonical()``
record serialised with ``json.dumps(..., ensure_ascii=False, sort_keys=True, separators=(",", ":"))``.

The oracle is that ``json.dumps`` call, made here on ``canonical()`` (the dicts the encoder sorts), for records
combining every kind of value a field can hold: text needing escapes, characters outside the BMP, None, empty and
several identities (some sharing a platform and identifier), and values of types validation never produces.
"""

import hashlib
import json
import random

import pytest

from gate.filings.records import Filing, PlatformIdentity

TEXTS = ["京ICP备2024000001号-1A", "测试应用", "a\"quoted\" name", "back\\slash", "tab\tnew\nline\r", "\x00\x1f\x7f",
         "emoji 😀 𠀀", "\u2028\u2029", "", " padded ", "é", "/slash"]
OPTIONAL = [None, *TEXTS]
ODD = [1, 2.5, True, ["x"], b"bytes"]


def _identity(rng: random.Random, odd: bool) -> PlatformIdentity:
    def value(options):
        return rng.choice(ODD) if odd and rng.random() < 0.2 else rng.choice(options)
    return PlatformIdentity(platform=value(["android", "ios", "harmony", "ios\u00e9"]),
                            identifier=value(["cn.app", "cn.app.b", "com.example", "测试"]),
                            public_key=value(OPTIONAL), signature_md5=value(OPTIONAL),
                            signature_sha1=value(OPTIONAL), signature_sha256=value(OPTIONAL))


def _filing(rng: random.Random) -> Filing:
    odd = rng.random() < 0.2

    def text(options=TEXTS):
        return rng.choice(ODD) if odd and rng.random() < 0.1 else rng.choice(options)
    return Filing(service_licence=text(), main_licence=text(), service_type=text(["app", "mini_program"]),
                  service_name=text(), unit_name=text(), status=text(["active", "cancelled"]),
                  unit_nature=text(OPTIONAL), approved_at=text([None, "2024-03-05"]),
                  blacklisted=rng.choice([True, False, 0, 1, None]) if odd else rng.choice([True, False]),
                  platforms=tuple(_identity(rng, odd) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 4]))),
                  domains=tuple(rng.choice(TEXTS) for _ in range(rng.randrange(4))),
                  content_approvals=tuple(text() for _ in range(rng.choice([0, 0, 1, 2]))))


def _documented(filing: Filing) -> str:
    return json.dumps(filing.canonical(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@pytest.mark.parametrize("seed", range(3))
def test_canonical_json_is_the_documented_serialisation(seed):
    rng = random.Random(seed)
    compared = 0
    for _ in range(4000):
        filing = _filing(rng)
        try:
            expected = _documented(filing)
        except TypeError as exc:  # values json.dumps cannot serialise or sort (bytes, mixed types): the same error
            with pytest.raises(TypeError) as raised:
                filing.canonical_json()
            assert str(raised.value) == str(exc)
            continue
        assert filing.canonical_json() == expected, filing
        assert filing.digest() == hashlib.sha256(expected.encode("utf-8")).hexdigest()
        compared += 1
    assert compared > 3000


def test_identities_sharing_a_platform_and_identifier_are_ordered_by_their_json():
    a = PlatformIdentity("android", "cn.app", signature_md5="b" * 32)
    b = PlatformIdentity("android", "cn.app", signature_md5="a" * 32)
    c = PlatformIdentity("android", "cn.a")
    filing = Filing("京ICP备2024000001号-1A", "京ICP备2024000001号", "app", "n", "u", "active", platforms=(a, b, c))
    text = filing.canonical_json()
    assert text == _documented(filing)
    assert text.index('"cn.a"') < text.index('"a' * 1 + "a" * 31) < text.index('"' + "b" * 32)
