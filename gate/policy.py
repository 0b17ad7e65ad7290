"""The decision policy: how the optional decision steps weigh, declared once per setting.

Each field of ``Policy`` is one setting, declared with ``_setting(...)``: its environment variable, the values it
allows, its default, the decision step it weighs and the reason code(s) it weighs, and what a device maker's
preinstall list does with it. Everything else is derived from these declarations (``POLICY_SETTINGS``): the
validation below, the parsing of the ``GATE_POLICY_*`` variables (gate.config), the preinstall policy
(gate.services.preinstall) and the tests that hold the README and docs/filings.md to them. Adding a setting is
one ``_setting`` line here plus its rule in gate.decide.

Steps 1-5 (readable, signed, filed, in force, key covered) are not settings at all: no environment can make the gate
allow an unfiled or wrongly signed app. Defaults are safe.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from gate.errors import GateError
from gate.records import record

# A fraction setting's values: any number from 0 to 1. A choice setting lists its words instead.
FRACTION = "fraction"


class PolicyError(GateError):
    """The decision policy is malformed or would check nothing."""

    code = "policy_invalid"


@record
class PolicySetting:
    """One row of the settings table."""

    name: str  # the Policy field
    variable: str  # the environment variable (gate.config reads it)
    choices: tuple[str, ...]  # the allowed words, in the order messages list them; () for a fraction
    default: str | float
    step: int  # the decision step it weighs (gate.decide's numbering)
    reasons: tuple[str, ...]  # the catalogue codes it weighs or switches
    # A preinstall list item (gate.services.preinstall) is a package name and a certificate digest: it has no
    # label, entity or network resources. A value here overrides the operator's setting for such items; None keeps
    # the operator's setting (the step applies to items as it does to packages, or cannot fire on them).
    preinstall: str | None

    def __init__(self, name: str, variable: str, choices: tuple[str, ...], default: str | float, step: int,
                 reasons: tuple[str, ...], preinstall: str | None) -> None:
        object.__setattr__(self, "__dict__", {
            "name": name, "variable": variable, "choices": choices, "default": default, "step": step,
            "reasons": reasons, "preinstall": preinstall
        })

    @property
    def kind(self) -> str:
        return FRACTION if not self.choices else "choice"

    def choices_text(self) -> str:
        """``review, block or off``: how messages name the allowed values."""
        return ", ".join(self.choices[:-1]) + " or " + self.choices[-1]

    def problem(self, value: object) -> str | None:
        """What is wrong with ``value`` for this setting, in words; None when it is allowed."""
        if self.kind == FRACTION:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0.0 <= value <= 1.0
            return None if ok else "use a number from 0 to 1"
        return None if value in self.choices else f"use {self.choices_text()}"


_ROW = "gate.policy.setting"  # the dataclass field metadata key holding a row (without its name)


def _setting(variable: str, choices: tuple[str, ...], default: str | float, *, step: int,
             reasons: tuple[str, ...], preinstall: str | None) -> Any:
    """A Policy field declaring one setting (the row's name is the field's)."""
    row = PolicySetting(name="", variable=variable, choices=choices, default=default, step=step, reasons=reasons,
                        preinstall=preinstall)
    return dataclasses.field(default=default, metadata={_ROW: row})


STEP_ACTIONS = ("review", "block", "off")  # how an optional step's finding weighs in the verdict
# Matching through a v3 rotation lineage is legitimate (Android itself accepts it), so it may be only info.
ROTATION_ACTIONS = ("info", "review", "block")


@record
class Policy:
    """How the optional steps (6-10) and rotation weigh: the settings table, one field per setting."""

    unfiled_domains: str = _setting("GATE_POLICY_UNFILED_DOMAINS", STEP_ACTIONS, "review", step=6,
                                    reasons=("domain_not_filed",), preinstall="off")
    name_mismatch: str = _setting("GATE_POLICY_NAME_MISMATCH", STEP_ACTIONS, "review", step=7,
                                  reasons=("name_mismatch",), preinstall="off")
    entity_mismatch: str = _setting("GATE_POLICY_ENTITY_MISMATCH", STEP_ACTIONS, "review", step=8,
                                    reasons=("entity_mismatch",), preinstall="off")
    key_rotated: str = _setting("GATE_POLICY_KEY_ROTATED", ROTATION_ACTIONS, "info", step=5,
                                reasons=("key_rotated",), preinstall=None)
    # info accepts filed upload keys. Items are APKs and RPKs, never bundles: it cannot fire on them.
    upload_key_only: str = _setting("GATE_POLICY_UPLOAD_KEY_ONLY", ROTATION_ACTIONS, "review", step=5,
                                    reasons=("upload_key_only",), preinstall=None)
    # Below this similarity (0..1) between the package label and the filed service name, name_mismatch fires.
    name_similarity: float = _setting("GATE_POLICY_NAME_SIMILARITY", (), 0.5, step=7, reasons=("name_mismatch",),
                                      preinstall=None)
    # Items carry no filing numbers (facts.filing_numbers is None): the step cannot fire on them.
    number_not_shown: str = _setting("GATE_POLICY_NUMBER_NOT_SHOWN", ("info", "review", "block", "off"), "info",
                                     step=9, reasons=("filing_number_not_shown",), preinstall=None)
    # Items carry no store category: the step cannot fire on them.
    content_approval: str = _setting("GATE_POLICY_CONTENT_APPROVAL", STEP_ACTIONS, "review", step=10,
                                     reasons=("content_approval_missing",), preinstall=None)
    # Code hidden by a packer and no unpacked build paired; no off: a hidden code base is always said. Items carry
    # no protection facts: the step cannot fire on them.
    packed: str = _setting("GATE_POLICY_PACKED", ("review", "block", "info"), "review", step=6,
                           reasons=("code_hidden_by_packer",), preinstall=None)

    def __init__(self, unfiled_domains: str = "review", name_mismatch: str = "review", entity_mismatch: str = "review",
                 key_rotated: str = "info", upload_key_only: str = "review", name_similarity: float = 0.5,
                 number_not_shown: str = "info", content_approval: str = "review", packed: str = "review") -> None:
        object.__setattr__(self, "__dict__", {
            "unfiled_domains": unfiled_domains, "name_mismatch": name_mismatch, "entity_mismatch": entity_mismatch,
            "key_rotated": key_rotated, "upload_key_only": upload_key_only, "name_similarity": name_similarity,
            "number_not_shown": number_not_shown, "content_approval": content_approval, "packed": packed})
        self.__post_init__()

    def __post_init__(self) -> None:
        for row in POLICY_SETTINGS:
            value = getattr(self, row.name)
            problem = row.problem(value)
            if problem is not None:
                raise PolicyError(f"policy {row.name}={value!r}: {problem}")

    def as_dict(self) -> dict[str, Any]:
        # Every field, always: a stored check replays with Policy(**stored), so a new knob must never be left out.
        return dataclasses.asdict(self)

    def for_preinstall_items(self) -> Policy:
        """This policy as it applies to a preinstall list item: the steps an item cannot inform are off."""
        overrides: dict[str, Any] = {row.name: row.preinstall for row in POLICY_SETTINGS
                                     if row.preinstall is not None}
        return dataclasses.replace(self, **overrides)


POLICY_SETTINGS: tuple[PolicySetting, ...] = tuple(
    dataclasses.replace(f.metadata[_ROW], name=f.name) for f in dataclasses.fields(Policy))
