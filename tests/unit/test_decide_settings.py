"""Policy settings: safe defaults, validation of GATE_POLICY_* values, and their mapping to the engine's Policy.

The settings table (gate.policy.POLICY_SETTINGS) is checked against values written here by hand — the variables,
defaults and messages as they were before the table existed — so that a row read from nowhere, or a default that
drifted, fails.
"""

import dataclasses

import pytest

from gate.config import DEFAULT_DATABASE_URL, load_settings
from gate.decide import CATALOGUE, Policy, PolicyError
from gate.errors import ConfigError
from gate.policy import FRACTION, POLICY_SETTINGS

# variable -> (Policy field, default), as the README documents them: the oracle for the table.
EXPECTED = {
    "GATE_POLICY_UNFILED_DOMAINS": ("unfiled_domains", "review"),
    "GATE_POLICY_NAME_MISMATCH": ("name_mismatch", "review"),
    "GATE_POLICY_ENTITY_MISMATCH": ("entity_mismatch", "review"),
    "GATE_POLICY_KEY_ROTATED": ("key_rotated", "info"),
    "GATE_POLICY_UPLOAD_KEY_ONLY": ("upload_key_only", "review"),
    "GATE_POLICY_NAME_SIMILARITY": ("name_similarity", 0.5),
    "GATE_POLICY_NUMBER_NOT_SHOWN": ("number_not_shown", "info"),
    "GATE_POLICY_CONTENT_APPROVAL": ("content_approval", "review"),
    "GATE_POLICY_PACKED": ("packed", "review"),
}


def test_the_table_is_every_policy_field_with_its_variable_and_default():
    assert {row.variable: (row.name, row.default) for row in POLICY_SETTINGS} == EXPECTED
    assert [row.name for row in POLICY_SETTINGS] == [f.name for f in dataclasses.fields(Policy)]
    for row in POLICY_SETTINGS:
        assert set(row.reasons) <= set(CATALOGUE), row
        assert row.preinstall is None or row.problem(row.preinstall) is None, row


def test_defaults_are_safe():
    s = load_settings({})
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.decision_policy() == Policy()
    assert s.decision_policy().as_dict() == {name: default for name, default in EXPECTED.values()}


def _other_value(row):
    """An allowed value that is not the default."""
    if row.kind == FRACTION:
        return "0.8", 0.8
    value = next(c for c in row.choices if c != row.default)
    return value.upper(), value  # the variables are case-insensitive


@pytest.mark.parametrize("row", POLICY_SETTINGS, ids=lambda row: row.variable)
def test_every_setting_is_read_from_the_environment(row):
    raw, value = _other_value(row)
    policy = load_settings({row.variable: raw}).decision_policy()
    assert getattr(policy, row.name) == value
    assert dataclasses.replace(policy, **{row.name: row.default}) == Policy(), "only this setting moved"


def test_policy_settings_map_to_the_engine():
    s = load_settings({"GATE_POLICY_UNFILED_DOMAINS": "Block", "GATE_POLICY_NAME_MISMATCH": "off",
                       "GATE_POLICY_KEY_ROTATED": "review", "GATE_POLICY_NAME_SIMILARITY": "0.8",
                       "GATE_DATABASE_URL": "postgresql://postgres@db/gate"})
    p = s.decision_policy()
    assert (p.unfiled_domains, p.name_mismatch, p.key_rotated, p.name_similarity) == ("block", "off", "review", 0.8)
    assert s.database_url == "postgresql://postgres@db/gate"


@pytest.mark.parametrize("name,value", [("GATE_POLICY_UNFILED_DOMAINS", "allow"),
                                        ("GATE_POLICY_KEY_ROTATED", "off"),
                                        ("GATE_POLICY_PACKED", "off"),
                                        ("GATE_POLICY_UPLOAD_KEY_ONLY", "off"),
                                        ("GATE_POLICY_NAME_SIMILARITY", "2"),
                                        ("GATE_POLICY_NAME_SIMILARITY", "high")])
def test_malformed_values_name_the_variable(name, value):
    with pytest.raises(ConfigError) as exc:
        load_settings({name: value})
    assert name in exc.value.message and exc.value.code == "config_invalid"


@pytest.mark.parametrize("field,value,message", [
    ("unfiled_domains", "allow", "policy unfiled_domains='allow': use review, block or off"),
    ("key_rotated", "off", "policy key_rotated='off': use info, review or block"),
    ("upload_key_only", "off", "policy upload_key_only='off': use info, review or block"),
    ("number_not_shown", "never", "policy number_not_shown='never': use info, review, block or off"),
    ("content_approval", "info", "policy content_approval='info': use review, block or off"),
    ("packed", "off", "policy packed='off': use review, block or info"),
    ("name_similarity", 1.5, "policy name_similarity=1.5: use a number from 0 to 1"),
])
def test_policy_validation_says_what_to_use(field, value, message):
    with pytest.raises(PolicyError) as exc:
        Policy(**{field: value})
    assert exc.value.message == message and exc.value.code == "policy_invalid"


def test_a_preinstall_item_has_steps_6_to_8_off_and_keeps_the_rest():
    strict = Policy(unfiled_domains="block", name_mismatch="block", entity_mismatch="block", key_rotated="block",
                    upload_key_only="block", name_similarity=0.9, number_not_shown="block",
                    content_approval="block", packed="block")
    items = strict.for_preinstall_items()
    assert (items.unfiled_domains, items.name_mismatch, items.entity_mismatch) == ("off", "off", "off")
    assert dataclasses.replace(items, unfiled_domains="block", name_mismatch="block",
                               entity_mismatch="block") == strict
