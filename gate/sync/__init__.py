"""Sync with the regulator (通信管理局): the protocol client, signing helpers and the sandbox regulator server.

The protocol itself is described in ``docs/regulator-protocol.md`` and ``regulator-openapi.json`` beside this file.
"""
