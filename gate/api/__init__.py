"""The machine API: Flask blueprints for the gate's callers (app stores, device makers, developers), reading requests
and shaping answers only; what a request asks for is done by gate.services (docs/architecture.md)."""
