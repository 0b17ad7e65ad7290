"""Deterministic mutations of seed inputs (bit flips, truncations, splices, boundary integers), for the regression
run of every fuzz target that needs no fuzzer: the same inputs every time, so a failure reproduces."""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator

INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)


def mutations(seed: bytes, count: int, *, rng: random.Random) -> Iterator[bytes]:
    if not seed:
        yield b""
        return
    for _ in range(count):
        data = bytearray(seed)
        kind = rng.randrange(5)
        at = rng.randrange(len(data))
        if kind == 0:  # flip a few bits
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(data))
                data[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # cut the end off
            del data[at:]
        elif kind == 2 and len(data) >= at + 4:  # a boundary integer where a length or offset may be
            data[at:at + 4] = struct.pack("<I", rng.choice(INTERESTING))
        elif kind == 3:  # repeat a slice (nested or duplicated structures)
            end = min(len(data), at + rng.randint(1, 512))
            data[at:at] = data[at:end] * rng.randint(1, 4)
        else:  # drop a slice
            del data[at:at + rng.randint(1, 64)]
        yield bytes(data)
