"""CLI subcommands, each a thin wrapper over library functions; loaded lazily by ``gate.cli``."""
