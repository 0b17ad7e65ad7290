"""Every fuzz target over its seeds and a fixed set of mutations: only problems with codes, never another exception.

The coverage-guided run (atheris, tests/fuzz/run.py) explores further; this one is deterministic and fast, so a
reader change that lets a library exception escape on a known-bad shape fails here first.
"""

import pathlib
import random

import pytest

from tests.fuzz.mutate import mutations
from tests.fuzz.targets import TARGETS, seeds

MUTATIONS_PER_TARGET = {"package": 150, "pkcs7": 60, "signing_block": 60, "scanner_cores": 100}
DEFAULT_MUTATIONS = 300


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_target_survives_seeds_and_mutations(name):
    fn = TARGETS[name]
    pool = list(seeds(name))
    assert pool, f"no seeds for {name}"
    rng = random.Random(name)
    for data in pool:
        fn(data)
    for i in range(MUTATIONS_PER_TARGET.get(name, DEFAULT_MUTATIONS)):
        seed = pool[i % len(pool)]
        for data in mutations(seed, 1, rng=rng):
            fn(data)


FINDINGS = sorted((pathlib.Path(__file__).resolve().parents[1] / "fuzz" / "findings").glob("*.bin"))


@pytest.mark.parametrize("finding", FINDINGS, ids=[p.name for p in FINDINGS])
def test_past_findings_stay_fixed(finding):
    """Inputs the coverage-guided fuzzer once found (named <target>-<what>.bin) are problems now, not crashes."""
    TARGETS[finding.name.split("-", 1)[0]](finding.read_bytes())
