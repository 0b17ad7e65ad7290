"""Pure extraction: package bytes -> frozen facts.

Nothing in this package imports flask, sqlmodel, sqlalchemy or requests, opens sockets or reads settings (a test
enforces the imports). Library exceptions (struct, zlib, asn1crypto, cryptography) never escape it: they become
``Problem`` entries with a stable code.
"""
