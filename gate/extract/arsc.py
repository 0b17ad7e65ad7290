"""resources.arsc read like libandroidfw's ResTable: resolve a resource id to its value for a configuration.

The chunk structure (table, global string pool, packages, type specs, types) is checked when the table is opened;
entries are decoded only when a resource is looked up, so opening a 20 MB table costs little. Configuration choice
follows ResTable_config::match / isBetterThan for the dimensions that matter for strings (locale first, then screen
size, orientation, density, SDK version) with the settings ``aapt dump badging`` uses, so that labels come out as
aapt reports them.

Public API:

    ResourceTable.parse(data) -> ResourceTable                       (ResourcesError / LimitExceeded)
    .resolve(resource_id, locale=None) -> TypedValue | None          follows references (bounded, cycles refused)
    .resolve_string(resource_id, locale=None) -> str | None
    .locales() -> list[str]                                          BCP-47-ish, sorted, like aapt's "locales:" list
    ResTableConfig (frozen): language, region, script, variant, ... ; .locale_tag()
"""

from __future__ import annotations

import struct
from dataclasses import field

from gate.errors import LimitExceeded, ResourcesError
from gate.extract.axml import (
    NO_INDEX,
    RES_STRING_POOL_TYPE,
    RES_TABLE_TYPE,
    RES_VALUE_SIZE,
    TYPE_DYNAMIC_REFERENCE,
    TYPE_REFERENCE,
    TYPE_STRING,
    ChunkReader,
    StringPool,
    TypedValue,
    read_string_pool,
)
from gate.records import FACTORY, record

# Large games ship tables of tens of megabytes; beyond this we refuse rather than spend memory on it.
MAX_RESOURCES_SIZE = 128 * 1024 * 1024
# ResTable::resolveReference gives up after 20 hops; a chain that long is a cycle or an attack.
MAX_REFERENCE_DEPTH = 20

RES_TABLE_PACKAGE_TYPE = 0x0200
RES_TABLE_TYPE_TYPE = 0x0201
RES_TABLE_TYPE_SPEC_TYPE = 0x0202
RES_TABLE_LIBRARY_TYPE = 0x0203
RES_TABLE_OVERLAYABLE_TYPE = 0x0204
RES_TABLE_STAGED_ALIAS_TYPE = 0x0206
TABLE_HEADER_SIZE = 12
PACKAGE_HEADER_SIZES = (284, 288)  # 288 since typeIdOffset was added (API 21); older aapt wrote 284
TYPE_SPEC_HEADER_SIZE = 16
TYPE_HEADER_FIXED = 20  # ResTable_type before its ResTable_config
MIN_CONFIG_SIZE = 28

# ResTable_type flags
FLAG_SPARSE = 0x01
FLAG_OFFSET16 = 0x02
# ResTable_entry flags
ENTRY_FLAG_COMPLEX = 0x0001
ENTRY_FLAG_COMPACT = 0x0008

DENSITY_MEDIUM = 160
DENSITY_ANY = 0xFFFE


def _fail(kind: str, message: str) -> ResourcesError:
    return ResourcesError(message, code=f"resources_{kind}")


# --- configurations ----------------------------------------------------------------------------------------------

def _unpack_language_or_region(raw: bytes, base: str) -> str:
    """ResTable_config packs 3-letter languages / 3-digit regions into two bytes when the high bit is set."""
    if raw[0] & 0x80:
        first = raw[1] & 0x1F
        second = ((raw[1] & 0xE0) >> 5) + ((raw[0] & 0x03) << 3)
        third = (raw[0] & 0x7C) >> 2
        return "".join(chr(ord(base) + c) for c in (first, second, third))
    if raw[0]:
        return raw.decode("latin-1").rstrip("\0")
    return ""


@record
class ResTableConfig:
    """The parts of a ResTable_config that resource selection for strings depends on."""

    language: str = ""
    region: str = ""
    script: str = ""
    variant: str = ""
    script_was_computed: bool = False
    mcc: int = 0
    mnc: int = 0
    orientation: int = 0
    touchscreen: int = 0
    density: int = 0
    keyboard: int = 0
    navigation: int = 0
    input_flags: int = 0
    screen_width: int = 0
    screen_height: int = 0
    sdk_version: int = 0
    minor_version: int = 0
    screen_layout: int = 0
    ui_mode: int = 0
    smallest_screen_width_dp: int = 0
    screen_width_dp: int = 0
    screen_height_dp: int = 0
    screen_layout2: int = 0
    color_mode: int = 0

    def __init__(self, language: str = "", region: str = "", script: str = "", variant: str = "",
                 script_was_computed: bool = False, mcc: int = 0, mnc: int = 0, orientation: int = 0,
                 touchscreen: int = 0, density: int = 0, keyboard: int = 0, navigation: int = 0, input_flags: int = 0,
                 screen_width: int = 0, screen_height: int = 0, sdk_version: int = 0, minor_version: int = 0,
                 screen_layout: int = 0, ui_mode: int = 0, smallest_screen_width_dp: int = 0, screen_width_dp: int = 0,
                 screen_height_dp: int = 0, screen_layout2: int = 0, color_mode: int = 0) -> None:
        object.__setattr__(self, "__dict__", {
            "language": language, "region": region, "script": script, "variant": variant,
            "script_was_computed": script_was_computed, "mcc": mcc, "mnc": mnc, "orientation": orientation,
            "touchscreen": touchscreen, "density": density, "keyboard": keyboard, "navigation": navigation,
            "input_flags": input_flags, "screen_width": screen_width, "screen_height": screen_height,
            "sdk_version": sdk_version, "minor_version": minor_version, "screen_layout": screen_layout,
            "ui_mode": ui_mode, "smallest_screen_width_dp": smallest_screen_width_dp,
            "screen_width_dp": screen_width_dp, "screen_height_dp": screen_height_dp, "screen_layout2": screen_layout2,
            "color_mode": color_mode
        })

    @classmethod
    def parse(cls, raw: bytes) -> ResTableConfig:
        raw = raw.ljust(64, b"\0")
        (mcc, mnc) = struct.unpack_from("<HH", raw, 4)
        (orientation, touchscreen, density, keyboard, navigation, input_flags, _pad, screen_width, screen_height,
         sdk, minor, layout, ui_mode, smallest, width_dp, height_dp) = struct.unpack_from("<BBHBBBBHHHHBBHHH", raw, 12)
        script = raw[36:40].decode("latin-1").rstrip("\0")
        variant = raw[40:48].decode("latin-1").rstrip("\0")
        return cls(language=_unpack_language_or_region(raw[8:10], "a"),
                   region=_unpack_language_or_region(raw[10:12], "0"), script=script, variant=variant,
                   script_was_computed=bool(raw[52]), mcc=mcc, mnc=mnc, orientation=orientation,
                   touchscreen=touchscreen, density=density, keyboard=keyboard, navigation=navigation,
                   input_flags=input_flags, screen_width=screen_width, screen_height=screen_height,
                   sdk_version=sdk, minor_version=minor, screen_layout=layout, ui_mode=ui_mode,
                   smallest_screen_width_dp=smallest, screen_width_dp=width_dp, screen_height_dp=height_dp,
                   screen_layout2=raw[48], color_mode=raw[49])

    def locale_tag(self) -> str:
        """ResTable_config::getBcp47Locale as aapt's locale list prints it: "zh-CN", "sr-Latn", "fil"; a language is
        printed as stored ("tl" stays "tl", as Android 10's aapt prints it)."""
        if not self.language and not self.region:
            return ""
        parts = [self.language]
        if self.script and not self.script_was_computed:
            parts.append(self.script)
        if self.region:
            parts.append(self.region)
        if self.variant:
            parts.append(self.variant)
        return "-".join(parts)


def badging_config(locale: str | None) -> ResTableConfig:
    """The configuration ``aapt dump badging`` resolves with, for one locale of the table ("" or None: none)."""
    language = region = script = variant = ""
    if locale:
        parts = locale.split("-")
        language = parts[0]
        for part in parts[1:]:
            if len(part) == 4 and part.isalpha():
                script = part
            elif len(part) in (2, 3) and not region:
                region = part
            else:
                variant = part
    computed = not script
    if language and not script:
        script = _likely_script(language, region)
    return ResTableConfig(language=language, region=region, script=script, variant=variant,
                          script_was_computed=computed, orientation=1, density=DENSITY_MEDIUM, sdk_version=10000,
                          screen_width_dp=320, screen_height_dp=480, smallest_screen_width_dp=320)


# Likely scripts (CLDR, as libandroidfw's LocaleDataTables) for the languages written in more than one script.
# For every other language only the language matters: it has a single script, so a marker per language stands in.
_MULTI_SCRIPT = {
    "zh": ("Hans", {"TW": "Hant", "HK": "Hant", "MO": "Hant"}),
    "sr": ("Cyrl", {"ME": "Latn", "RO": "Latn", "RU": "Latn", "TR": "Latn"}),
    "pa": ("Guru", {"PK": "Arab"}),
    "uz": ("Latn", {"AF": "Arab", "CN": "Cyrl"}),
    "az": ("Latn", {"IR": "Arab"}),
    "mn": ("Cyrl", {"CN": "Mong"}),
    "ms": ("Latn", {"CC": "Arab"}),
}

# Parent locales (CLDR parentLocales, libandroidfw LocaleDataTables.cpp, as localeDataCompareRegions uses them):
# region -> parent region, per language (and script where it matters). A region not listed has the bare language
# as its parent. "001" is the world, "150" Europe, "419" Latin America. en-CA is a child of en-001 in the
# Android 10 tables aapt uses (framework-res.apk: aapt picks en-XC over en-CA for "en").
_EN_001_CHILDREN = (
    "150 AG AI AU BB BM BS BW BZ CA CC CK CM CX CY DG DM ER FJ FK FM GB GD GG GH GI GM GY HK IE IL IM IN IO JE JM KE "
    "KI KN KY LC LR LS MG MO MS MT MU MV MW MY NA NF NG NR NU NZ PG PK PN PW RW SB SC SD SG SH SL SS SX SZ TC TK TO "
    "TT TV TZ UG VC VG VU WS ZA ZM ZW").split()
_EN_150_CHILDREN = "AT BE CH DE DK FI NL SE SI".split()
_PARENT_REGIONS = {
    ("en", ""): {**{r: "001" for r in _EN_001_CHILDREN}, **{r: "150" for r in _EN_150_CHILDREN}},
    ("zh", "Hant"): {"MO": "HK"},
    ("es", ""): {r: "419" for r in ("AR", "BO", "BR", "BZ", "CL", "CO", "CR", "CU", "DO", "EC", "GT", "HN", "MX",
                                    "NI", "PA", "PE", "PR", "PY", "SV", "US", "UY", "VE")},
    ("pt", ""): {r: "PT" for r in ("AO", "CH", "CV", "GQ", "GW", "LU", "MO", "MZ", "ST", "TL")},
    ("ar", ""): {r: "015" for r in ("AE", "DZ", "EH", "LY", "MA", "TN", "XB")},
}
# Representative locales (LocaleDataTables' REPRESENTATIVE_LOCALES): between two regions equally far from the
# request, the representative one wins (en-US over en-XC, de-DE over de-AT).
_REPRESENTATIVE = {
    "af": "ZA", "am": "ET", "ar": "EG", "as": "IN", "az": "AZ IR", "be": "BY", "bg": "BG", "bn": "BD", "bs": "BA",
    "ca": "ES", "cs": "CZ", "cy": "GB", "da": "DK", "de": "DE", "el": "GR", "en": "GB US", "es": "ES MX US",
    "et": "EE", "eu": "ES", "fa": "IR", "fi": "FI", "fil": "PH", "fr": "FR", "ga": "IE", "gl": "ES", "gu": "IN",
    "he": "IL", "hi": "IN", "hr": "HR", "hu": "HU", "hy": "AM", "id": "ID", "in": "ID", "is": "IS", "it": "IT",
    "iw": "IL", "ja": "JP", "ka": "GE", "kk": "KZ", "km": "KH", "kn": "IN", "ko": "KR", "ky": "KG", "lo": "LA",
    "lt": "LT", "lv": "LV", "mk": "MK", "ml": "IN", "mn": "MN", "mr": "IN", "ms": "MY", "my": "MM", "nb": "NO",
    "ne": "NP", "nl": "NL", "no": "NO", "or": "IN", "pa": "IN PK", "pl": "PL", "pt": "BR", "ro": "RO", "ru": "RU",
    "si": "LK", "sk": "SK", "sl": "SI", "sq": "AL", "sr": "RS", "sv": "SE", "sw": "TZ", "ta": "IN", "te": "IN",
    "th": "TH", "tl": "PH", "tr": "TR", "uk": "UA", "ur": "PK", "uz": "UZ AF", "vi": "VN", "zh": "CN TW", "zu": "ZA",
}


def _likely_script(language: str, region: str) -> str:
    if language in _MULTI_SCRIPT:
        default, by_region = _MULTI_SCRIPT[language]
        return by_region.get(region, default)
    return f"~{language}" if language else ""


_TL_FIL = frozenset({"tl", "fil"})  # Tagalog's two codes, one language to the resource matcher


def _langs_equivalent(a: str, b: str) -> bool:
    return a == b or {a, b} == _TL_FIL


def _close_to_us_english(region: str) -> bool:
    """localeDataIsCloseToUsEnglish: the region's ancestors reach plain "en" before "en-001" (en-US, en-XC, ...)."""
    current: str | None = region
    while current:
        if current == "001":
            return False
        current = _parent_region("en", "", current)
    return True


def _parent_region(language: str, script: str, region: str) -> str | None:
    """The next ancestor region ("" is the bare language, None the root)."""
    if not region:
        return None
    table = _PARENT_REGIONS.get((language, script)) or _PARENT_REGIONS.get((language, ""), {})
    return table.get(region, "")


def _ancestors(language: str, script: str, region: str, stop: tuple[str, ...] = ()) -> tuple[list[str], int]:
    chain: list[str] = []
    current: str | None = region
    while current is not None:
        chain.append(current)
        if current in stop:
            return chain, stop.index(current)
        current = _parent_region(language, script, current)
    return chain, -1


def _region_key(region: str) -> int:
    """Ordering of localeDataCompareRegions' last tie-break: packed two-letter codes before three-digit ones."""
    if not region:
        return 0
    if region.isdigit():
        return 0x8000 + int(region)
    return (ord(region[0]) << 8) | ord(region[1] if len(region) > 1 else "\0")


def _compare_regions(left: str, right: str, request: ResTableConfig) -> int:
    if left == right:
        return 0
    language, script = request.language, request.script
    ancestors, index = _ancestors(language, script, request.region, (left, right))
    if index == 0:
        return 1
    if index == 1:
        return -1

    def distance(region: str) -> int:
        chain, found = _ancestors(language, script, region, tuple(ancestors))
        return len(chain) + found - 1

    left_distance, right_distance = distance(left), distance(right)
    if left_distance != right_distance:
        return right_distance - left_distance
    representative = _REPRESENTATIVE.get(language, "").split()
    left_representative, right_representative = left in representative, right in representative
    if left_representative != right_representative:
        return 1 if left_representative else -1
    return _region_key(right) - _region_key(left)


def _config_script(config: ResTableConfig) -> str:
    if config.script and not config.script_was_computed:
        return config.script
    return _likely_script(config.language, config.region)


def matches(config: ResTableConfig, request: ResTableConfig) -> bool:
    """ResTable_config::match for the dimensions a badging request sets; every other qualifier must be unset."""
    # The language first: for one locale it rejects nearly every configuration of a translated table (a label is
    # resolved for each of its locales against each of its configurations), and every test below must pass anyway.
    language = config.language
    if language and language != request.language and not (language in _TL_FIL and request.language in _TL_FIL):
        return False  # not _langs_equivalent, without a call per configuration
    if config.mcc or config.mnc or config.touchscreen or config.keyboard or config.navigation:
        return False
    if config.input_flags or config.ui_mode or config.color_mode or config.screen_layout2 or config.minor_version:
        return False
    if config.language or config.region:
        script = _config_script(config)
        if not request.script or not script:
            if config.region and config.region != request.region:
                return False
        elif script != request.script:
            return False
        if config.variant and config.variant != request.variant:
            return False
    if config.orientation not in (0, request.orientation):
        return False
    if config.sdk_version > request.sdk_version:
        return False
    for mine, wanted in ((config.smallest_screen_width_dp, request.smallest_screen_width_dp),
                         (config.screen_width_dp, request.screen_width_dp),
                         (config.screen_height_dp, request.screen_height_dp)):
        if mine > wanted:
            return False
    return True


def _locale_better(mine: ResTableConfig, other: ResTableConfig, request: ResTableConfig) -> bool:
    """ResTable_config::isLocaleBetterThan."""
    if not request.language and not request.region:
        return False
    if not (mine.language or mine.region or other.language or other.region):
        return False
    if not _langs_equivalent(mine.language, other.language):
        if request.language == "en":
            if request.region == "US":
                if mine.language:
                    return mine.region in ("", "US")
                return other.region not in ("", "US")
            if _close_to_us_english(request.region):
                if mine.language:
                    return _close_to_us_english(mine.region)
                return not _close_to_us_english(other.region)
        return bool(mine.language)
    comparison = _compare_regions(mine.region, other.region, request)
    if comparison:
        return comparison > 0
    mine_variant, other_variant = mine.variant == request.variant, other.variant == request.variant
    if mine_variant != other_variant:
        return mine_variant
    return mine.language == request.language and other.language != request.language


def _density_better(mine: int, other: int, requested: int) -> bool:
    this_density, other_density = mine or DENSITY_MEDIUM, other or DENSITY_MEDIUM
    if this_density == DENSITY_ANY:
        return True
    if other_density == DENSITY_ANY:
        return False
    high, low, i_am_bigger = this_density, other_density, True
    if low > high:
        high, low, i_am_bigger = low, high, False
    if requested >= high:
        return i_am_bigger
    if low >= requested:
        return not i_am_bigger
    return i_am_bigger if (2 * low - requested) * high <= requested * requested else not i_am_bigger


def is_better(mine: ResTableConfig, other: ResTableConfig, request: ResTableConfig) -> bool:
    """ResTable_config::isBetterThan(o, requested), both already matching the request."""
    if _locale_better(mine, other, request):
        return True
    if _locale_better(other, mine, request):
        return False
    for a, b in ((mine.smallest_screen_width_dp, other.smallest_screen_width_dp),
                 (mine.screen_width_dp, other.screen_width_dp), (mine.screen_height_dp, other.screen_height_dp)):
        if a != b:
            return a > b
    if mine.orientation != other.orientation:
        return bool(mine.orientation)
    if mine.density != other.density:
        return _density_better(mine.density, other.density, request.density or DENSITY_MEDIUM)
    if mine.sdk_version != other.sdk_version:
        return mine.sdk_version > other.sdk_version
    return False


# --- the table ---------------------------------------------------------------------------------------------------

@record
class _TypeChunk:
    """One ResTable_type: a configuration and where its entries are; entries are decoded on lookup."""

    config: ResTableConfig
    offset: int
    end: int
    flags: int
    entry_count: int
    index_start: int
    entries_start: int

    def __init__(self, config: ResTableConfig, offset: int, end: int, flags: int, entry_count: int, index_start: int,
                 entries_start: int) -> None:
        object.__setattr__(self, "__dict__", {
            "config": config, "offset": offset, "end": end, "flags": flags, "entry_count": entry_count,
            "index_start": index_start, "entries_start": entries_start
        })


@record(frozen=False)
class _Package:
    package_id: int
    name: str
    keys: StringPool
    types: dict[int, list[_TypeChunk]] = field(default_factory=dict)

    def __init__(self, package_id: int, name: str, keys: StringPool,
                 types: dict[int, list[_TypeChunk]] = FACTORY) -> None:
        self.package_id = package_id
        self.name = name
        self.keys = keys
        self.types = {} if types is FACTORY else types


class ResourceTable:
    def __init__(self, reader: ChunkReader, strings: StringPool, packages: dict[int, _Package]) -> None:
        self._r = reader
        self.strings = strings
        self.packages = packages
        # (package and type id, language) -> the configurations a request in that language can match: see _candidates
        self._candidates_for: dict[tuple[int, str], list[_TypeChunk]] = {}
        self._languages_of: dict[int, dict[str, list[int]]] = {}

    @classmethod
    def parse(cls, data: bytes) -> ResourceTable:
        if len(data) > MAX_RESOURCES_SIZE:
            raise LimitExceeded(f"resources.arsc of {len(data)} bytes exceeds {MAX_RESOURCES_SIZE}",
                                code="resources_too_large")
        data = bytes(data)
        reader = ChunkReader(data, error=ResourcesError, domain="resources")
        if len(data) < 8 or struct.unpack_from("<H", data, 0)[0] != RES_TABLE_TYPE:
            raise _fail("not_table", "resources.arsc does not start with a resource table chunk")
        ctype, header_size, size = reader.chunk(0, len(data))
        reader.expect_header(ctype, header_size, TABLE_HEADER_SIZE, 0)
        if size != len(data):
            raise _fail("bad_chunk", f"table size {size} but {len(data)} bytes")
        (package_count,) = reader.unpack("<I", 8, header_size)
        strings: StringPool | None = None
        packages: dict[int, _Package] = {}
        offset = header_size
        while offset < size:
            ctype, chunk_header, chunk_size = reader.chunk(offset, size)
            if ctype == RES_STRING_POOL_TYPE and strings is None and not packages:
                strings = read_string_pool(reader, offset, chunk_header, chunk_size)
            elif ctype == RES_TABLE_PACKAGE_TYPE and strings is not None:
                package = _read_package(reader, offset, chunk_header, chunk_size)
                if package.package_id in packages:
                    raise _fail("bad_chunk", f"package 0x{package.package_id:02x} appears twice")
                packages[package.package_id] = package
            else:
                raise _fail("bad_chunk", f"unexpected chunk 0x{ctype:04x} at {offset} in the table")
            offset += chunk_size
        if strings is None or len(packages) != package_count:
            raise _fail("bad_chunk", f"table declares {package_count} packages, holds {len(packages)}")
        return cls(reader, strings, packages)

    # -- lookups

    def locales(self) -> list[str]:
        """Every locale any configuration uses ("" for none), sorted as aapt's ResTable::getLocales sorts them."""
        tags = {chunk.config.locale_tag() for package in self.packages.values()
                for chunks in package.types.values() for chunk in chunks}
        return sorted(tags, key=lambda tag: tag.encode())

    def resolve(self, resource_id: int, locale: str | None = None) -> TypedValue | None:
        """The value of ``resource_id`` for the badging configuration of ``locale``, references followed.

        None when the id (or a reference on the way) names no entry, or the entry is a bag: as aapt, that is an
        unresolvable value, not a malformed table. A reference chain longer than MAX_REFERENCE_DEPTH is refused.
        """
        request = badging_config(locale)
        value = TypedValue(TYPE_REFERENCE, resource_id)
        seen: set[int] = set()
        while value.type in (TYPE_REFERENCE, TYPE_DYNAMIC_REFERENCE) and value.data != 0:
            if value.data in seen or len(seen) >= MAX_REFERENCE_DEPTH:
                raise _fail("reference_cycle", f"reference chain from 0x{resource_id:08x} does not end")
            seen.add(value.data)
            found = self._lookup(value.data, request)
            if found is None:
                return None
            value = found
        return value

    def resolve_string(self, resource_id: int, locale: str | None = None) -> str | None:
        value = self.resolve(resource_id, locale)
        return value.string if value is not None and value.type == TYPE_STRING else None

    def _lookup(self, resource_id: int, request: ResTableConfig) -> TypedValue | None:
        package = self.packages.get(resource_id >> 24)
        chunks = package.types.get((resource_id >> 16) & 0xFF) if package else None
        if not chunks:
            return None
        index = resource_id & 0xFFFF
        best: tuple[_TypeChunk, int] | None = None
        for chunk in self._candidates(resource_id >> 16, chunks, request.language):
            # ResTable::getEntry: walk the configurations in file order, replace only on a strictly better match.
            if not matches(chunk.config, request):
                continue
            entry = self._entry_offset(chunk, index)
            if entry is None:
                continue
            if best is None or is_better(chunk.config, best[0].config, request):
                best = (chunk, entry)
        return None if best is None else self._entry_value(best[1], chunk_end=best[0].end)

    def _candidates(self, type_key: int, chunks: list[_TypeChunk], language: str) -> list[_TypeChunk]:
        """The configurations of one type that a request in ``language`` can match, in file order: those without a
        language, in that language, or (Tagalog) in its other code. ``matches`` rejects every other one on its
        language alone, so walking these gives the same entry. The label is resolved for every locale of a table
        against every configuration of its string type (86 x 86 ``matches`` calls on a translated app); grouped
        by language once, each locale tests only its own few."""
        found = self._candidates_for.get((type_key, language))
        if found is None:
            groups = self._languages_of.get(type_key)
            if groups is None:
                groups = self._languages_of[type_key] = {}
                for position, chunk in enumerate(chunks):
                    groups.setdefault(chunk.config.language, []).append(position)
            languages = {"", language} | (_TL_FIL if language in _TL_FIL else set())
            positions = sorted(position for lang in languages for position in groups.get(lang, ()))
            found = self._candidates_for[(type_key, language)] = [chunks[position] for position in positions]
        return found

    def _entry_offset(self, chunk: _TypeChunk, index: int) -> int | None:
        r = self._r
        if chunk.flags & FLAG_SPARSE:
            # Sparse types list (entry index, offset / 4) pairs sorted by index.
            for i in range(chunk.entry_count):
                entry_index, offset4 = r.unpack("<HH", chunk.index_start + 4 * i, chunk.entries_start)
                if entry_index == index:
                    return self._checked_entry(chunk, offset4 * 4)
            return None
        if index >= chunk.entry_count:
            return None
        if chunk.flags & FLAG_OFFSET16:
            (offset16,) = r.unpack("<H", chunk.index_start + 2 * index, chunk.entries_start)
            return None if offset16 == 0xFFFF else self._checked_entry(chunk, offset16 * 4)
        (offset,) = r.unpack("<I", chunk.index_start + 4 * index, chunk.entries_start)
        return None if offset == NO_INDEX else self._checked_entry(chunk, offset)

    def _checked_entry(self, chunk: _TypeChunk, offset: int) -> int:
        position = chunk.entries_start + offset
        if offset % 4 or position + 8 > chunk.end:
            raise _fail("bad_entry", f"entry offset {offset} outside its type chunk")
        return position

    def _entry_value(self, position: int, *, chunk_end: int) -> TypedValue | None:
        r = self._r
        size, flags, key = r.unpack("<HHI", position, chunk_end)
        if flags & ENTRY_FLAG_COMPACT:
            # Compact entries (aapt2 --enable-compact-entries): the type is in the high byte of flags, the key in
            # the size field and the data in place of the key.
            return self._value(flags >> 8, key)
        if flags & ENTRY_FLAG_COMPLEX:
            if size < 16 or position + size > chunk_end:
                raise _fail("bad_entry", f"map entry at {position} has size {size}")
            return None  # a bag (style, plural, array): not a single value
        if size != 8:
            raise _fail("bad_entry", f"entry at {position} has size {size}, expected 8")
        value_size, res0, data_type, data = r.unpack("<HBBI", position + 8, chunk_end)
        if value_size != RES_VALUE_SIZE or res0 != 0:
            raise _fail("value_invalid", f"Res_value at {position + 8}: size {value_size}, res0 {res0}")
        return self._value(data_type, data)

    def _value(self, data_type: int, data: int) -> TypedValue:
        if data_type == TYPE_STRING:
            return TypedValue(data_type, data, self.strings[data])
        return TypedValue(data_type, data)


def _read_package(r: ChunkReader, offset: int, header_size: int, size: int) -> _Package:
    r.expect_header(RES_TABLE_PACKAGE_TYPE, header_size, PACKAGE_HEADER_SIZES, offset)
    end = offset + size
    package_id, = r.unpack("<I", offset + 8, end)
    name = r.data[offset + 12:offset + 12 + 256].decode("utf-16-le", "replace").split("\0", 1)[0]
    type_strings, _last_type, key_strings, _last_key = r.unpack("<IIII", offset + 268, end)
    if package_id > 0xFF:
        raise _fail("bad_chunk", f"package id {package_id} out of range")
    pools: dict[int, StringPool] = {}
    types: dict[int, list[_TypeChunk]] = {}
    specs: dict[int, int] = {}
    position = offset + header_size
    while position < end:
        ctype, chunk_header, chunk_size = r.chunk(position, end)
        relative = position - offset
        if ctype == RES_STRING_POOL_TYPE and relative in (type_strings, key_strings) and relative not in pools:
            pools[relative] = read_string_pool(r, position, chunk_header, chunk_size)
        elif ctype == RES_TABLE_TYPE_SPEC_TYPE:
            r.expect_header(ctype, chunk_header, TYPE_SPEC_HEADER_SIZE, position)
            type_id, res0, _res1, entry_count = r.unpack("<BBHI", position + 8, position + chunk_header)
            if type_id == 0 or res0 or type_id in specs or chunk_header + 4 * entry_count > chunk_size:
                raise _fail("bad_chunk", f"type spec at {position} is malformed or repeated")
            specs[type_id] = entry_count
        elif ctype == RES_TABLE_TYPE_TYPE:
            chunk = _read_type(r, position, chunk_header, chunk_size)
            type_id = r.data[position + 8]
            if type_id not in specs or chunk.entry_count > specs[type_id]:
                raise _fail("bad_chunk", f"type chunk at {position} without a matching type spec")
            types.setdefault(type_id, []).append(chunk)
        elif ctype in (RES_TABLE_LIBRARY_TYPE, RES_TABLE_OVERLAYABLE_TYPE, RES_TABLE_STAGED_ALIAS_TYPE):
            pass  # shared-library maps, overlayable policies, staged aliases: structure checked, content unused
        else:
            raise _fail("bad_chunk", f"unexpected chunk 0x{ctype:04x} at {position} in package {name!r}")
        position += chunk_size
    if type_strings not in pools or key_strings not in pools:
        raise _fail("bad_chunk", f"package {name!r} lacks its type or key string pool")
    return _Package(package_id, name, pools[key_strings], types)


def _read_type(r: ChunkReader, position: int, header_size: int, size: int) -> _TypeChunk:
    end = position + size
    if header_size < TYPE_HEADER_FIXED + MIN_CONFIG_SIZE:
        raise _fail("bad_chunk", f"type chunk at {position}: header size {header_size}")
    type_id, flags, _reserved, entry_count, entries_start = r.unpack("<BBHII", position + 8, end)
    (config_size,) = r.unpack("<I", position + TYPE_HEADER_FIXED, end)
    if config_size < MIN_CONFIG_SIZE or TYPE_HEADER_FIXED + config_size != header_size:
        raise _fail("bad_chunk", f"type chunk at {position}: config size {config_size}")
    if type_id == 0 or flags & ~(FLAG_SPARSE | FLAG_OFFSET16):
        raise _fail("bad_chunk", f"type chunk at {position}: id {type_id}, flags 0x{flags:x}")
    index_width = 4 if flags & FLAG_SPARSE or not flags & FLAG_OFFSET16 else 2
    if header_size + index_width * entry_count > entries_start or entries_start > size:
        raise _fail("bad_chunk", f"type chunk at {position}: entries start {entries_start} overlaps its index")
    config = ResTableConfig.parse(r.data[position + TYPE_HEADER_FIXED:position + header_size])
    return _TypeChunk(config, position, end, flags, entry_count, position + header_size, position + entries_start)
