"""Filing numbers (备案号): parsing and the grammar docs/filings.md gives.

    <province> ICP备<8 or 10 digits>号   filing (备案); 10-digit numbers start with the year (2024000001)
    <province> ICP证<digits>号           ICP operating licence (经营许可证)
    <province> B2-<8 digits>             value-added telecom licence
then, for one service of the unit, ``-<n><type letter>``: ``A`` app, ``X`` mini program. The quick-app letter is
not confirmed by a published source, so an unknown letter is accepted and flagged, never a crash.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from gate.filings.problems import FieldInvalid
from gate.filings.provinces import PROVINCES

TYPE_LETTERS = {"A": "app", "X": "mini_program"}

_CLEAN = re.compile(r"^\w(?:ICP备|ICP证|B2-)[0-9]+号?(?:-[0-9]+[A-Z]?)?$")
_LICENCE = re.compile(
    r"^(?P<province>\w)"
    r"(?:ICP备(?P<filing>\d+)号|ICP证(?P<icp>\d+)号|B2-(?P<b2>\d+))"
    r"(?:-(?P<seq>\d+)(?P<letter>[A-Z]?))?$"
)

# The spelling nearly every export uses for a service's number, already normal (京ICP备2024000001号-1A): a subset of
# what _CLEAN and _LICENCE accept, with a sequence from 1 and a known type letter (common_service_licence).
_COMMON_SERVICE = re.compile(r"(\w)ICP备([0-9]{8}|20[0-9]{8})号-[1-9][0-9]*([AX])")


@dataclass(frozen=True)
class ServiceLicence:
    """A parsed filing number. ``text`` is the normalised spelling used as the unique key."""

    text: str
    province: str
    form: str  # "icp_filing" | "icp_licence" | "b2"
    digits: str
    main: str  # 主体备案号: the unit's number without the service suffix
    service_seq: int | None
    type_letter: str | None

    @property
    def is_service(self) -> bool:
        return self.service_seq is not None

    @property
    def service_type(self) -> str | None:
        """The service type the letter stands for, or None when the letter is missing or not known."""
        return TYPE_LETTERS.get(self.type_letter or "")


def normalise_licence_text(text: str) -> str:
    """NFKC folds full-width digits, letters and dashes (common in copied numbers); spaces are dropped."""
    if _CLEAN.match(text):
        return text  # already normal: the common case in exports, skip the Unicode normalisation
    folded = unicodedata.normalize("NFKC", str(text)).replace("—", "-").replace("－", "-")
    return re.sub(r"\s+", "", folded).upper()


def parse_licence(text: str, *, field: str = "service_licence") -> ServiceLicence:
    """Parse a filing number; raise FieldInvalid with a stable code when it breaks the grammar."""
    norm = normalise_licence_text(text)
    m = _LICENCE.match(norm)
    if m is None:
        raise FieldInvalid(field, "licence_syntax",
                           f"{text!r} is not a filing number like 京ICP备2024000001号-1A")
    if m["province"] not in PROVINCES:
        raise FieldInvalid(field, "licence_province", f"{m['province']!r} is not a province abbreviation")
    if m["filing"] is not None:
        form, digits = "icp_filing", m["filing"]
        # Older numbers have 8 digits; newer ones 10, starting with the year of filing.
        if not (len(digits) == 8 or (len(digits) == 10 and digits.startswith("20"))):
            raise FieldInvalid(field, "licence_digits",
                               f"{text!r}: ICP备 numbers have 8 digits or 10 starting with the year")
        main = f"{m['province']}ICP备{digits}号"
    elif m["icp"] is not None:
        form, digits = "icp_licence", m["icp"]
        if not 4 <= len(digits) <= 10:
            raise FieldInvalid(field, "licence_digits", f"{text!r}: ICP证 numbers have 4 to 10 digits")
        main = f"{m['province']}ICP证{digits}号"
    else:
        form, digits = "b2", m["b2"]
        if len(digits) != 8:
            raise FieldInvalid(field, "licence_digits", f"{text!r}: B2 licence numbers have 8 digits")
        main = f"{m['province']}B2-{digits}"
    seq = int(m["seq"]) if m["seq"] is not None else None
    if seq is not None and seq < 1:
        raise FieldInvalid(field, "licence_syntax", f"{text!r}: the service number starts at 1")
    return ServiceLicence(text=norm, province=m["province"], form=form, digits=digits, main=main,
                          service_seq=seq, type_letter=m["letter"] or None)


def common_service_licence(text: str) -> tuple[str, str] | None:
    """The unit's number and the service type of a service number in the common spelling, as ``parse_licence``
    gives them (``main``, ``service_type``; its ``text`` is ``text`` itself); None for any other spelling, which
    ``parse_licence`` decides. Building a ServiceLicence and matching two patterns cost a validated record ~3 µs."""
    m = _COMMON_SERVICE.fullmatch(text)
    if m is None or m[1] not in PROVINCES:
        return None
    return text[:m.end(2) + 1], TYPE_LETTERS[m[3]]
