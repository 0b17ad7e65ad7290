"""Staff passwords: scrypt (RFC 7914, from the standard library's hashlib), a random 16-byte salt per password.

Stored as ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>`` so the cost can be raised later without breaking old hashes.
n=2**15, r=8, p=1 costs ~32 MiB and ~0.1 s per check here: slow for an attacker holding the table, quick enough for
a person signing in. Comparison is constant-time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

N, R, P = 2 ** 15, 8, 1
DKLEN = 32
MAXMEM = 64 * 1024 * 1024
MIN_LENGTH = 10


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, maxmem=MAXMEM, dklen=DKLEN)
    return f"scrypt${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        again = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                               maxmem=MAXMEM, dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(again.hex(), digest)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the username is unknown, so an unknown name costs the same time as a wrong password
    (made on first use: importing the module costs nothing)."""
    return hash_password(secrets.token_urlsafe(16))
