"""The sandbox regulator: a real HTTP server speaking the regulator's side of the protocol, for rehearsals and tests.

It keeps what it receives in its own SQLite file (never the gate's database), serves a filings feed from a file,
injects faults on request (503s, latency, dropped connections) and shows what arrived at ``/_sandbox/``.
"""
