"""The OpenAPI document stays in step with the routes the app really serves, and every operation in it follows the
rules client generators need (gate/api/openapi.py, rules 1-4). No socket, no database: the app's engine
is opened lazily, so building it touches nothing. The rules are checked over whatever the document holds, so a
route added later without an operationId, tags or a complete schema fails here, by name."""

from __future__ import annotations

import re

from gate.api.app import create_app
from gate.api.openapi import PAGES, TAGS, document
from gate.config import Settings
from tests import requirements

IMPLICIT = {"HEAD", "OPTIONS"}
METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


def _routes() -> dict[str, set[str]]:
    app = create_app(Settings(database_url="sqlite:///unused-by-this-test.db", log_format="text"))
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        routes.setdefault(path, set()).update(m for m in rule.methods if m not in IMPLICIT)
    return routes


def _operations(doc: dict):
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def _schemas(node, where="#"):
    """Every schema object in the document (anything with a type, a $ref or a combinator), with where it is."""
    if isinstance(node, dict):
        if "type" in node or "$ref" in node or "oneOf" in node or "anyOf" in node or "enum" in node:
            yield where, node
        for key, value in node.items():
            yield from _schemas(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schemas(value, f"{where}/{i}")


def test_every_route_is_in_the_api_document_or_a_page():
    doc = document()
    documented = {path: {m.upper() for m in item} for path, item in doc["paths"].items()}
    pages = {path: {m.upper() for m in methods} for path, methods in PAGES.items()}
    assert not set(documented) & set(pages), "a page is in the machine API's document"
    assert {**documented, **pages} == _routes()


def test_pages_for_people_are_not_in_the_machine_api():
    doc = document()
    assert not [p for p in doc["paths"] if p.startswith(("/console", "/precheck")) or p == "/"]
    assert "consoleSession" not in doc["components"]["securitySchemes"]
    for path, method, operation in _operations(doc):
        for response in operation["responses"].values():
            assert "text/html" not in response.get("content", {}) or path.startswith("/api/v1/badge/"), (path, method)


def test_every_operation_has_a_unique_operation_id_and_known_tags():
    ids = []
    for path, method, operation in _operations(document()):
        assert re.fullmatch(r"[a-z][a-z0-9_]*", operation.get("operationId", "")), f"{method} {path}: operationId"
        assert operation.get("tags") and set(operation["tags"]) <= set(TAGS), f"{method} {path}: tags"
        ids.append(operation["operationId"])
    assert len(ids) == len(set(ids)), "operationIds repeat"
    assert {t["name"] for t in document()["tags"]} == set(TAGS)


def test_every_path_parameter_is_declared_and_required():
    for path, method, operation in _operations(document()):
        declared = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "path"}
        assert set(declared) == set(re.findall(r"\{(\w+)\}", path)), f"{method} {path}"
        assert all(p.get("required") is True and "schema" in p for p in declared.values()), f"{method} {path}"


def test_every_schema_is_complete():
    doc = document()
    for where, schema in _schemas(doc):
        types = schema.get("type")
        types = types if isinstance(types, list) else [types]
        if "array" in types:
            assert "items" in schema, f"{where}: an array without items"
        if "$ref" in schema:
            assert schema["$ref"].removeprefix("#/components/schemas/") in doc["components"]["schemas"], where
    for path, method, operation in _operations(doc):
        for status, response in operation["responses"].items():
            assert response.get("description"), f"{method} {path} {status}: description"
        body = operation.get("requestBody", {}).get("content", {})
        assert set(body) <= {"application/json", "multipart/form-data"}, f"{method} {path}: body types {set(body)}"
        for part, schema in body.get("multipart/form-data", {}).get("schema", {}).get("properties", {}).items():
            if "contentMediaType" in schema:  # a file part: generators make a file argument of format binary
                assert schema.get("format") == "binary", f"{method} {path}: part {part}"


def test_document_validates_as_openapi_31():
    requirements.module("openapi_spec_validator")
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    validate(document(), cls=OpenAPIV31SpecValidator)


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
