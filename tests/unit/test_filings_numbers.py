"""Filing-number grammar (docs/filings.md "Validation codes")."""

import pytest

from gate.filings.numbers import common_service_licence, parse_licence
from gate.filings.problems import FieldInvalid


@pytest.mark.parametrize("text,main,seq,letter,service_type", [
    ("京ICP备2024000001号-1A", "京ICP备2024000001号", 1, "A", "app"),
    ("粤ICP备12345678号-12X", "粤ICP备12345678号", 12, "X", "mini_program"),
    ("沪ICP证080047号-3A", "沪ICP证080047号", 3, "A", "app"),
    ("浙B2-20080224-2A", "浙B2-20080224", 2, "A", "app"),
    ("京ICP备2024000001号", "京ICP备2024000001号", None, None, None),
    ("京ICP备2024000001号-1Q", "京ICP备2024000001号", 1, "Q", None),  # unknown letter: parsed, flagged later
])
def test_parses_the_three_forms(text, main, seq, letter, service_type):
    lic = parse_licence(text)
    assert (lic.main, lic.service_seq, lic.type_letter, lic.service_type) == (main, seq, letter, service_type)


def test_full_width_digits_and_dash_are_folded():
    assert parse_licence("京ICP备２０２４０００００１号－１A").text == "京ICP备2024000001号-1A"
    assert parse_licence(" 京ICP备2024000001号-1a ").text == "京ICP备2024000001号-1A"


@pytest.mark.parametrize("text,code", [
    ("港ICP备2024000001号-1A", "licence_province"),
    ("京ICP备202400001号-1A", "licence_digits"),     # 9 digits
    ("京ICP备1924000001号-1A", "licence_digits"),    # 10 digits must start with the year
    ("京B2-2008022-1A", "licence_digits"),
    ("京ICP备2024000001-1A", "licence_syntax"),      # missing 号
    ("ICP备2024000001号-1A", "licence_syntax"),
    ("京ICP备2024000001号-0A", "licence_syntax"),
    ("", "licence_syntax"),
])
def test_rejects_malformed_numbers_with_a_stable_code(text, code):
    with pytest.raises(FieldInvalid) as exc:
        parse_licence(text)
    assert exc.value.code == code
    assert exc.value.problem.field == "service_licence"


@pytest.mark.parametrize("text", [
    "京ICP备2024000001号-1A", "粤ICP备12345678号-3X", "沪ICP备2024000001号-12A", "京ICP备2024000001号-1",
    "京ICP备2024000001号-1Q", "京ICP备2024000001号-01A", "京ICP备2024000001号-0A", "京ICP备2024000001号-1A\n",
    " 京ICP备2024000001号-1A", "京ICP备1999000001号-1A", "京ICP备202400001号-1A", "京ICP备2024000001-1A",
    "京ICP备２０24000001号-1A", "京ＩＣＰ备2024000001号-1A", "京ICP证123456号-1A", "京B2-12345678-1A",
    "XICP备2024000001号-1A", "京ICP备2024000001号", "京ICP备2024000001号-1a", "京ICP备2024000001号-1AX"])
def test_the_common_spelling_parses_as_parse_licence_parses_it(text):
    common = common_service_licence(text)
    if common is None:
        return  # parse_licence decides (the common case hands the record over)
    licence = parse_licence(text)  # the oracle: the grammar's parser
    assert (text, *common) == (licence.text, licence.main, licence.service_type)
    assert licence.service_seq is not None and licence.service_seq >= 1


def test_the_common_spelling_covers_the_usual_numbers():
    assert common_service_licence("京ICP备2024000001号-1A") == ("京ICP备2024000001号", "app")
    assert common_service_licence("粤ICP备12345678号-3X") == ("粤ICP备12345678号", "mini_program")
    assert common_service_licence("京ICP备2024000001号-01A") is None
    assert common_service_licence("京ICP备2024000001号-1A\n") is None
