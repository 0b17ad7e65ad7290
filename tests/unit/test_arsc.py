"""resources.arsc: locales and per-locale resolution as aapt reports them; malformed tables refused."""

from __future__ import annotations

import json
import struct

import pytest

from gate.errors import ResourcesError
from gate.extract.arsc import ResourceTable, ResTableConfig, badging_config
from gate.extract.axml import parse_xml
from tests import axml_mutations as m

BADGING = json.loads((m.MANIFEST_FIXTURES / "badging.json").read_text(encoding="utf-8"))


def table(apk: str) -> ResourceTable:
    return ResourceTable.parse(m.apk_member(apk, "resources.arsc"))


def _locales_line(apk: str) -> list[str]:
    line = next(x for x in BADGING[apk]["aapt_raw"].splitlines() if x.startswith("locales:"))
    return [t.strip("'") for t in line.split()[1:]]


@pytest.mark.parametrize("apk", ["locales.apk", "aapt2_hello.apk", "major_min_only.apk"])
def test_locales_are_the_ones_aapt_lists(apk):
    # aapt prints the no-locale configuration as '--_--'.
    assert table(apk).locales() == ["" if t == "--_--" else t for t in _locales_line(apk)]


def test_packed_three_letter_language_and_bcp47_script():
    locales = table("locales.apk").locales()
    assert "ast" in locales and "sr-Latn" in locales and "fil" in locales


def test_chinese_locale_fallback_follows_scripts():
    # aapt: zh-HK has no value of its own and takes the Traditional (zh-TW) one, not zh or the default.
    label = BADGING["locales.apk"]["labels"]
    t = table("locales.apk")
    app_name = next(e for e in parse_xml(m.manifest_of()).iter() if e.name == "application").get("label").value.data
    assert t.resolve_string(app_name, "") == BADGING["locales.apk"]["label"]
    for locale in ("zh-HK", "zh-TW", "zh-CN", "zh", "en-GB", "pt-BR", "es-MX"):
        assert t.resolve_string(app_name, locale) == label[locale], locale


def test_utf8_pool_with_supplementary_characters():
    # aapt2 writes modified UTF-8 (surrogates as two 3-byte sequences).
    t = table("aapt2_hello.apk")
    assert BADGING["aapt2_hello.apk"]["label"] in [t.strings[i] for i in range(len(t.strings))]


def test_unknown_resource_is_none():
    assert table("locales.apk").resolve(0x7F7F0001) is None


def _reference_cycle(data: bytes) -> bytes:
    # In major_min_only, string a (entry 0) is @string/b (entry 1): point it at itself.
    pos = data.index(b"\x08\x00\x00\x01")
    (target,) = struct.unpack_from("<I", data, pos + 4)
    return data[:pos + 4] + struct.pack("<I", target & 0xFFFF0000) + data[pos + 8:], target & 0xFFFF0000


def test_reference_chain_and_cycle():
    data = m.apk_member("major_min_only.apk", "resources.arsc")
    cyclic, a = _reference_cycle(data)
    assert ResourceTable.parse(data).resolve_string(a, "") == "Chained"
    with pytest.raises(ResourcesError) as caught:
        ResourceTable.parse(cyclic).resolve(a, "")
    assert caught.value.code == "resources_reference_cycle"


@pytest.mark.parametrize("mutate, code", [
    (lambda d: d[:len(d) // 2], "resources_truncated"),
    (lambda d: b"\x03\x00" + d[2:], "resources_not_table"),
    (lambda d: d + bytes(4), "resources_bad_chunk"),
    (lambda d: d[:8] + struct.pack("<I", 2) + d[12:], "resources_bad_chunk"),  # two packages declared
    (lambda d: d[:12] + struct.pack("<HH", 0x0001, 32) + d[16:], "resources_bad_chunk"),  # pool header size
])
def test_malformed_tables_are_refused(mutate, code):
    with pytest.raises(ResourcesError) as caught:
        ResourceTable.parse(mutate(m.apk_member("locales.apk", "resources.arsc")))
    assert caught.value.code == code


def test_packed_language_decoding():
    raw = bytearray(64)
    struct.pack_into("<I", raw, 0, 64)
    # "ast" packed as ResTable_config::packLanguageOrRegion does: 1 ttttt ss | sss aaaaa (letters minus 'a').
    a, s, t = (ord(c) - ord("a") for c in "ast")
    raw[8] = 0x80 | (t << 2) | (s >> 3)
    raw[9] = ((s & 0x07) << 5) | a
    assert ResTableConfig.parse(bytes(raw)).locale_tag() == "ast"


def test_badging_config_computes_scripts():
    assert badging_config("zh-HK").script == "Hant" and badging_config("zh-CN").script == "Hans"
    assert badging_config("sr-Latn").script == "Latn" and not badging_config("").language


def _every_configuration(t: ResourceTable, resource_id: int, request: ResTableConfig):
    """ResTable::getEntry as written before the language grouping: every configuration of the type, in file order."""
    from gate.extract.arsc import is_better, matches

    package = t.packages.get(resource_id >> 24)
    chunks = package.types.get((resource_id >> 16) & 0xFF) if package else None
    best = None
    for chunk in chunks or ():
        if not matches(chunk.config, request):
            continue
        entry = t._entry_offset(chunk, resource_id & 0xFFFF)
        if entry is not None and (best is None or is_better(chunk.config, best[0].config, request)):
            best = (chunk, entry)
    return None if best is None else t._entry_value(best[1], chunk_end=best[0].end)


@pytest.mark.parametrize("apk", ["locales.apk", "aapt2_hello.apk", "major_min_only.apk"])
def test_lookup_by_language_finds_what_walking_every_configuration_finds(apk):
    # The configurations a locale can match are grouped by language once; every entry of every type, for every
    # locale of the table (Tagalog's two codes, scripts, the default), resolves to the same value either way.
    t = table(apk)
    for locale in [None, "tl", "fil", *t.locales()]:
        request = badging_config(locale)
        for package in t.packages.values():
            for type_id, chunks in package.types.items():
                for index in range(max(chunk.entry_count for chunk in chunks)):
                    resource_id = package.package_id << 24 | type_id << 16 | index
                    assert t._lookup(resource_id, request) == _every_configuration(t, resource_id, request), (
                        locale, hex(resource_id))


def test_lookup_by_language_on_a_translated_app(corpus_apk):
    # A real app's table: 86 locales, each against every configuration of the string type.
    import zipfile

    with zipfile.ZipFile(corpus_apk("app-uiautomator.apk")) as apk:
        t = ResourceTable.parse(apk.read("resources.arsc"))
    assert len(t.locales()) > 50
    for locale in [None, "tl", "fil", *t.locales()]:
        request = badging_config(locale)
        for package in t.packages.values():
            for type_id, chunks in package.types.items():
                if len(chunks) < 10:  # the translated types (strings, plurals) are the ones grouping changes
                    continue
                for index in range(0, max(chunk.entry_count for chunk in chunks), 7):
                    resource_id = package.package_id << 24 | type_id << 16 | index
                    assert t._lookup(resource_id, request) == _every_configuration(t, resource_id, request), (
                        locale, hex(resource_id))
