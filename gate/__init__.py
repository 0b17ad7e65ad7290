"""The filing gate: checks mobile-app packages against their APP备案 filings."""

__version__ = "0.1.0"
