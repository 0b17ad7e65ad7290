"""Staff password hashing: scrypt with a per-password salt, checked against hashlib.scrypt computed here."""

from __future__ import annotations

import hashlib

from gate.web.passwords import hash_password, verify_password


def test_hash_is_scrypt_with_its_parameters_and_salt():
    stored = hash_password("一个足够长的口令 2026")
    scheme, n, r, p, salt, digest = stored.split("$")
    assert scheme == "scrypt" and int(n) >= 2 ** 14
    again = hashlib.scrypt("一个足够长的口令 2026".encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                           maxmem=64 * 1024 * 1024, dklen=len(digest) // 2)
    assert again.hex() == digest
    assert hash_password("一个足够长的口令 2026") != stored  # a new salt each time


def test_verify():
    stored = hash_password("correct horse battery")
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterY", stored)
    for broken in ("", "plain", "scrypt$x$8$1$00$00", "bcrypt$1$2$3$4$5"):
        assert not verify_password("correct horse battery", broken)
