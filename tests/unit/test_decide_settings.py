"""Policy settings: safe defaults, validation of GATE_POLICY_* values, and their mapping to the engine's Policy."""

import pytest

from gate.config import DEFAULT_DATABASE_URL, load_settings
from gate.decide import Policy
from gate.errors import ConfigError


def test_defaults_are_safe():
    s = load_settings({})
    assert s.database_url == DEFAULT_DATABASE_URL
    assert s.decision_policy() == Policy(unfiled_domains="review", name_mismatch="review",
                                         entity_mismatch="review", key_rotated="info", name_similarity=0.5)


def test_policy_settings_map_to_the_engine():
    s = load_settings({"GATE_POLICY_UNFILED_DOMAINS": "Block", "GATE_POLICY_NAME_MISMATCH": "off",
                       "GATE_POLICY_KEY_ROTATED": "review", "GATE_POLICY_NAME_SIMILARITY": "0.8",
                       "GATE_DATABASE_URL": "postgresql://postgres@db/gate"})
    p = s.decision_policy()
    assert (p.unfiled_domains, p.name_mismatch, p.key_rotated, p.name_similarity) == ("block", "off", "review", 0.8)
    assert s.database_url == "postgresql://postgres@db/gate"


@pytest.mark.parametrize("name,value", [("GATE_POLICY_UNFILED_DOMAINS", "allow"),
                                        ("GATE_POLICY_KEY_ROTATED", "off"),
                                        ("GATE_POLICY_NAME_SIMILARITY", "2"),
                                        ("GATE_POLICY_NAME_SIMILARITY", "high")])
def test_malformed_values_name_the_variable(name, value):
    with pytest.raises(ConfigError) as exc:
        load_settings({name: value})
    assert name in exc.value.message and exc.value.code == "config_invalid"
