"""Filings (APP备案): records, filing-number grammar, key normalisation, import formats and the registry service.

Pure apart from file reading in ``formats``; the database side lives in ``gate.db``.
"""
