"""The per-route gate: who is calling (Bearer API key) and whether their role may call this route."""

from __future__ import annotations

import flask

from gate.services.auth import Client, authenticate


def client_for(*roles: str) -> Client:
    """Authenticate the request and require one of ``roles`` (admin may call everything); 401/403 otherwise.

    Views call this first, before touching the body, so a refused request reads nothing and stores nothing.
    """
    client = authenticate(flask.current_app.extensions["gate"].engine, flask.request.headers.get("Authorization"))
    flask.g.client_name = client.name
    client.require(*roles)
    return client
