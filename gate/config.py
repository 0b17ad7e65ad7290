"""Settings: the only module that reads the environment (``GATE_*`` variables).

Everything else takes what it needs as keyword arguments. Every setting has a safe default: the gate fails closed
when nothing is configured. Policy knobs may make the optional review steps stricter (``block``) or switch them off;
the identity steps (signature, filing, key) are not settings at all, so no environment can turn the gate into a
rubber stamp.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from gate.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///gate.db"  # a file in the working directory

# How an optional step's finding weighs in the verdict.
STEP_ACTIONS = ("review", "block", "off")
# Matching through a v3 rotation lineage is legitimate (Android itself accepts it), so it may be only info.
ROTATION_ACTIONS = ("info", "review", "block")


@dataclass(frozen=True)
class Settings:
    """All GATE_* settings, parsed and validated once."""

    database_url: str = DEFAULT_DATABASE_URL
    policy_unfiled_domains: str = "review"
    policy_name_mismatch: str = "review"
    policy_entity_mismatch: str = "review"
    policy_key_rotated: str = "info"
    # Below this similarity (0..1) between the package label and the filed service name, name_mismatch fires.
    policy_name_similarity: float = 0.5

    def decision_policy(self):
        """The decision engine's Policy for these settings (imported here so config stays import-light)."""
        from gate.decide import Policy

        return Policy(
            unfiled_domains=self.policy_unfiled_domains,
            name_mismatch=self.policy_name_mismatch,
            entity_mismatch=self.policy_entity_mismatch,
            key_rotated=self.policy_key_rotated,
            name_similarity=self.policy_name_similarity,
        )


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = environ.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}", code="config_invalid")
    return value


def _fraction(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number between 0 and 1", code="config_invalid") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} is not a number between 0 and 1", code="config_invalid")
    return value


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and validate the GATE_* variables; a malformed value raises ConfigError naming the variable."""
    return Settings(
        database_url=environ.get("GATE_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        policy_unfiled_domains=_choice(environ, "GATE_POLICY_UNFILED_DOMAINS", "review", STEP_ACTIONS),
        policy_name_mismatch=_choice(environ, "GATE_POLICY_NAME_MISMATCH", "review", STEP_ACTIONS),
        policy_entity_mismatch=_choice(environ, "GATE_POLICY_ENTITY_MISMATCH", "review", STEP_ACTIONS),
        policy_key_rotated=_choice(environ, "GATE_POLICY_KEY_ROTATED", "info", ROTATION_ACTIONS),
        policy_name_similarity=_fraction(environ, "GATE_POLICY_NAME_SIMILARITY", 0.5),
    )
