"""The validator's common-case path gives exactly what the full path gives, for valid records and for every kind of
record it must hand over (problems, warnings, unusual types and spellings).

The oracle is the full path (``_validate_in_full``), the validator every earlier import ran: ``validate_record``
must return the same Filing (field by field, with the same canonical JSON and digest) and the same problems, in the
same order, for each of thousands of records combining valid and faulty values of every field.
"""

import datetime as dt
import hashlib
import pathlib
import random

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

from gate.filings.validate import _valid_common_case, _validate_in_full, validate_record

FIXTURES = pathlib.Path(__file__).parents[2] / "fixtures"
MD5 = hashlib.md5(b"cert").hexdigest()
SHA1 = hashlib.sha1(b"cert").hexdigest()
SHA256 = hashlib.sha256(b"cert").hexdigest()


def _public_keys() -> list[str]:
    _key, cert, _ = pkcs12.load_key_and_certificates((FIXTURES / "keys" / "rsa2048.p12").read_bytes(), b"password")
    modulus = format(cert.public_key().public_numbers().n, "x")
    pem = cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()
    return [modulus, "00" + modulus.upper(), pem, "abc", "30" + "00" * 10]


# Each field's values: the valid spellings the common case takes, then what it must hand to the full path.
LICENCES = ["京ICP备2024000001号-1A", "粤ICP备12345678号-3X", " 京ICP备2024000002号-2A ", "京ICP备2024000003号-1",
            "京ICP备2024000004号-1Q", "京ICP备2024000005号", "京ＩＣＰ备2024000006号－1A", "沪ICP证123456号-1A",
            "京B2-12345678-1A", "京ICP备1999000001号-1A", "京ICP备2024000007号-0A", "XICP备2024000008号-1A",
            "京ICP备2024000009号-1a", "京ICP备2024000010号-01A", "京ICP备2024000011号-1A\n", "京ICP备202400012号-1A",
            "京ICP备2024000013-1A", "京ICP备２０24000014号-1A", "京ICP备12345678号-10X", "京ICP备2024000015号-1AX",
            "", "   ", None, 12345, ["京ICP备2024000001号-1A"]]
SERVICE_TYPES = ["app", "APP", " 应用 ", "mini_program", "小程序", "quick_app", "快应用", "game", "", None, 1]
STATUSES = ["active", "正常", "Cancelled", "已注销", "revoked", "吊销", "gone", "", None, True]
NAMES = ["测试应用", " padded ", "", "   ", None, 42]
MAIN = [None, "", "京ICP备2024000001号", "京ICP备2024000002号", "京ＩＣＰ备2024000001号", " 京ICP备2024000001号 ", 7]
DATES = [None, "", "2024-03-05", "2024-02-30", "2024/3/5", "2024年3月5日", "2024-03-05T10:00:00", "2024-03-05\n",
         dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 10, 0), "yesterday", 20240305]
BLACKLISTED = [False, True, "是", "no", "maybe", None, 1, 0]
PLATFORMS = ["android", "安卓", " iOS ", "harmony", "鸿蒙", "quickapp", "miniprogram", "windows", "", None, 3]
IDENTIFIERS = ["cn.bench.app1", " cn.bench.app1 ", "com.Example.App_2", "cn.bench-app", "single", "1cn.app",
               "wx1234567890abcdef", "a" * 300, "", None, 99]
FINGERPRINTS = {
    "signature_md5": [None, "", MD5, MD5.upper(), ":".join(MD5[i:i + 2] for i in range(0, 32, 2)), " " + MD5,
                      MD5[:-1], "zz" + MD5[2:], 5],
    "signature_sha1": [None, "", SHA1, SHA1.upper(), SHA1 + "00", SHA1[:20]],
    "signature_sha256": [None, "", SHA256, "-".join(SHA256[i:i + 8] for i in range(0, 64, 8)), MD5],
}
DOMAINS = ["app.example.cn", "API.Example.CN.", " host.example.com ", "*.example.cn", "例子.中国", "1.2.3.4",
           "[::1]", "http://example.cn/x", "bad_name.cn", "-bad.cn", "localhost", "1.2.3", "a." * 130 + "cn", "",
           None, 5]
APPROVALS = [None, [], ["出版", " 出版 ", ""], ["文化", None], "出版；文化", ("a", "b"), [1], 7]


def _identity(rng: random.Random, keys: list[str]) -> object:
    if rng.random() < 0.01:
        return rng.choice(["android:cn.app", None, ["android", "cn.app"]])
    entry: dict[str, object] = {}
    if rng.random() < 0.97:
        entry["platform"] = rng.choice(PLATFORMS) if rng.random() < 0.3 else "android"
    if rng.random() < 0.97:
        entry["identifier"] = rng.choice(IDENTIFIERS) if rng.random() < 0.3 else f"cn.bench.app{rng.randrange(5)}"
    for name, values in FINGERPRINTS.items():
        if rng.random() < 0.5:
            entry[name] = rng.choice(values) if rng.random() < 0.4 else values[2]
    if rng.random() < 0.1:
        entry["public_key"] = rng.choice(keys)
    return entry


def _record(rng: random.Random, keys: list[str]) -> object:
    """A record whose each field is usually valid and sometimes any of its other values."""
    if rng.random() < 0.01:
        return rng.choice([[], "record", None])
    rate = rng.choice([0.0, 0.2, 1.0])  # a clean record, one with a few odd fields, or one with many

    def pick(values: list, usual: object, odds: float = 0.15) -> object:
        return rng.choice(values) if rng.random() < odds * rate else usual

    record: dict[str, object] = {
        "service_licence": pick(LICENCES, f"京ICP备2024{rng.randrange(10**6):06d}号-1A"),
        "service_type": pick(SERVICE_TYPES, "app"),
        "service_name": pick(NAMES, "测试应用"),
        "unit_name": pick(NAMES, "测试科技有限公司"),
        "status": pick(STATUSES, "active"),
    }
    for name, values in (("main_licence", MAIN), ("approved_at", DATES), ("blacklisted", BLACKLISTED),
                         ("unit_nature", NAMES), ("content_approvals", APPROVALS)):
        if rng.random() < 0.5:
            record[name] = pick(values, values[0], 0.5)
    if rng.random() < 0.95:
        identities = [_identity(rng, keys) for _ in range(rng.choice([0, 1, 1, 1, 2, 2, 3]))]
        record["platforms"] = pick([None, "android", {"platform": "android"}], identities, 0.03)
    if rng.random() < 0.9:
        domains = [pick(DOMAINS, f"app{rng.randrange(3)}.example.cn", 0.2) for _ in range(rng.randrange(4))]
        record["domains"] = pick([None, "a.example.cn; b.example.cn", ("a.example.cn",), 5], domains, 0.05)
    if rng.random() < 0.05 * rate:
        del record[rng.choice(list(record))]
    return record


@pytest.mark.parametrize("seed", range(4))
def test_validate_record_gives_what_the_full_path_gives(seed):
    rng = random.Random(seed)
    keys = _public_keys()
    taken = 0
    for _ in range(3000):
        raw = _record(rng, keys)
        expected = _validate_in_full(raw)
        filing, problems = validate_record(raw)
        assert (filing, problems) == expected, raw
        if filing is not None:
            assert filing.canonical_json() == expected[0].canonical_json(), raw
            assert filing.digest() == expected[0].digest(), raw
        taken += _valid_common_case(raw) is not None
    # Both outcomes are exercised: valid records taking the short path, and the rest handed over.
    assert 300 < taken < 2700


def test_records_with_warnings_or_odd_spellings_take_the_full_path():
    base = {"service_licence": "京ICP备2024000001号-1A", "service_type": "app", "service_name": "n", "unit_name": "u",
            "status": "active", "platforms": [{"platform": "android", "identifier": "cn.app", "signature_md5": MD5}],
            "domains": ["app.example.cn"]}
    assert _valid_common_case(base) is not None
    for change in ({"domains": ["*.example.cn"]}, {"service_licence": "京ICP备2024000001号-1Q"},
                   {"blacklisted": "否"}, {"approved_at": "2024/3/5"}, {"domains": ["1.2.3.4"]}):
        raw = {**base, **change}
        assert _valid_common_case(raw) is None, change
        assert validate_record(raw) == _validate_in_full(raw)
