"""The state every blueprint shares — settings, decision policy, fetch policy, the lazily opened engine — and
``service()``, the accessor views call. It lives apart from the application factory (gate.api.app),
which imports the blueprints: a blueprint importing the factory's module would make an import circle.
"""

from __future__ import annotations

import threading

import flask

from gate.config import Settings


class GateService:
    """What the blueprints share: settings, the decision policy, the fetch policy and the (lazy) engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.policy = settings.decision_policy()
        self._engine = None
        self._lock = threading.Lock()

    @property
    def engine(self):
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    from gate.db.engine import open_database

                    self._engine = open_database(self.settings.database_url)
        return self._engine

    def fetch_policy(self):
        from gate.services.fetch import policy_from_settings

        return policy_from_settings(self.settings)


def service() -> GateService:
    return flask.current_app.extensions["gate"]
