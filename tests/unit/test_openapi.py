"""The OpenAPI document stays in step with the routes the app really serves (no socket, no database: the app's
engine is opened lazily, so building it touches nothing)."""

from __future__ import annotations

import re

from gate.config import Settings
from gate.platform_hooks.app import create_app
from gate.platform_hooks.openapi import document

IMPLICIT = {"HEAD", "OPTIONS"}


def _routes() -> dict[str, set[str]]:
    app = create_app(Settings(database_url="sqlite:///unused-by-this-test.db", log_format="text"))
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m for m in rule.methods if m not in IMPLICIT)
    return routes


def test_every_route_is_documented_with_its_methods():
    doc = document()
    documented = {path: {m.upper() for m in item} for path, item in doc["paths"].items()}
    assert documented == _routes()


def test_document_is_openapi_31_with_security_and_error_shape():
    doc = document()
    assert doc["openapi"].startswith("3.1")
    schemes = doc["components"]["securitySchemes"]
    assert schemes["webhookSignature"]["name"] == "X-Gate-Signature"
    upload = doc["paths"]["/api/v1/hooks/store/upload"]["post"]
    assert {"apiKey": [], "webhookSignature": []} in upload["security"]
    assert {"200", "202", "401", "403", "413"} <= set(upload["responses"])
    refs = re.findall(r"#/components/schemas/(\w+)", str(doc))
    assert refs and set(refs) <= set(doc["components"]["schemas"])
