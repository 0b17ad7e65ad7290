"""Every reason code the engine can give has a name in both languages on the console (gate.names)."""

from gate import names
from gate.decide import CATALOGUE


def test_every_catalogue_code_has_a_chinese_and_an_english_name():
    missing = sorted(set(CATALOGUE) - set(names.REASONS))
    assert missing == []
    for zh, en in names.REASONS.values():
        assert zh and en and not zh.isascii() and en.isascii()


def test_an_unknown_code_stays_findable():
    assert names.name(names.REASONS, "brand_new_code", "zh") == "其他 (brand_new_code)"
    assert names.name(names.REASONS, "unfiled", "en") == "not filed"
