"""The OpenAPI 3.1 document of the machine API, served at ``/openapi.json``.

Stores, device makers and developers generate clients from it (docs/api.md), so it follows the rules client
generators need; tests/unit/test_openapi.py holds every operation to them and keeps the document in step with the
routes, and tests/integration/test_openapi_client.py generates a client with ``openapi-python-client`` and uses it:

1. every operation has an ``operationId`` (the generated method's name) and one or more ``tags`` (its module);
2. every ``{name}`` in a path is declared as a path parameter (``_declare_path_parameters`` adds any left out);
3. every schema is complete: arrays say what their items are, file parts are ``format: binary``;
4. only the machine API is here: the HTML pages for people (the pre-check page, the staff console) are listed in
   ``PAGES`` and left out, because a generated client cannot sign in to a console or post its CSRF-protected forms.
"""

from __future__ import annotations

import re
from typing import Any

from gate import __version__
from gate.miniprogram import DOMAIN_LISTS, MAX_DOMAINS  # the declaration schema is the one gate.miniprogram reads

ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict:
    text = {400: "Malformed body", 401: "Missing/invalid API key or webhook signature", 403: "Role may not call this",
            404: "Not found", 413: "Body larger than the limit", 415: "Unsupported content type",
            422: "Downloaded package does not match sha256", 500: "Unexpected error (quote X-Request-Id)",
            503: "Database unavailable", 409: "Conflicts with the resource's state",
            507: "The gate's spool disk is full (spool_full): nothing was kept, retry after Retry-After seconds"}
    if 500 in statuses:  # whatever can fail unexpectedly can also meet a database outage (503, Retry-After)
        statuses = (*statuses, 503)
    return {str(s): _json(ERROR, text[s]) for s in dict.fromkeys(statuses)}


BEARER: list[dict[str, list[str]]] = [{"apiKey": []}]
SIGNED: list[dict[str, list[str]]] = [{"apiKey": [], "webhookSignature": []}]

FILING_OR_NULL = {"oneOf": [{"$ref": "#/components/schemas/FilingSummary"}, {"type": "null"}],
                  "description": "the filing the package matched, or null"}

METADATA = {"type": "object", "properties": {
    "store_app_id": {"type": "string"}, "developer_entity": {"type": "string"},
    "category": {"type": "string", "description": "the store's category for the app (content approvals)"},
    "callback_url": {"type": "string", "format": "uri"}}}

SCHEMAS = {
    "FilingApplicationForm": {"type": "object", "properties": {
        "check_id": {"type": "string", "description": "the client's own completed check of the package (create only)"},
        "service_name": {"type": "string"}, "unit_name": {"type": "string"}, "unit_nature": {"type": "string"},
        "content_approvals": {"type": "array", "items": {"type": "string"}},
        "domains": {"type": "array", "items": {"type": "string"},
                    "description": "default: the package's contact domains and public IPs"},
        "contacts": {"type": "array", "maxItems": 5, "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "role": {"type": "string"}, "phone": {"type": "string"},
            "email": {"type": "string"},
            "id_number": {"type": "string", "description": "18 characters; stored sealed only (GATE_PII_KEY)"}}}}}},
    "FilingApplication": {"type": "object", "required": ["application_id", "status"], "properties": {
        "application_id": {"type": "string"}, "round": {"type": "integer"},
        "status": {"enum": ["pending", "submitted", "returned", "approved", "rejected"]},
        "check_id": {"type": "string"}, "platform": {"type": "string"}, "identifier": {"type": "string"},
        "service_name": {"type": "string"}, "unit_name": {"type": "string"},
        "regulator_id": {"type": ["string", "null"]},
        "reasons": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
        "service_licence": {"type": ["string", "null"]}, "last_error": {"type": ["string", "null"]},
        "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
    "ErrorDetail": {"type": "object", "required": ["code", "message"],
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}}},
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"$ref": "#/components/schemas/ErrorDetail"}}},
    "Reason": {"type": "object", "required": ["code", "severity", "message"], "properties": {
        "code": {"type": "string"}, "severity": {"enum": ["block", "review", "info"]},
        "message": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
        "evidence": {"type": "object"}}},
    "FilingSummary": {"type": "object", "properties": {
        "service_licence": {"type": "string"}, "service_name": {"type": "string"},
        "unit_name": {"type": "string"}, "status": {"type": "string"}}},
    "PackageSummary": {"type": "object", "properties": {
        "format": {"type": "string"}, "package": {"type": ["string", "null"]},
        "version_code": {"type": ["integer", "null"]},
        "signers": {"type": "array", "items": {"type": "string"}, "description": "certificate SHA-256 digests"}}},
    "Decision": {"type": "object", "required": ["check_id", "verdict", "reasons"], "properties": {
        "check_id": {"type": "string"}, "status": {"enum": ["done"]}, "path": {"type": "string"},
        "verdict": {"enum": ["allow", "review", "block"]},
        "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
        "filing": FILING_OR_NULL,
        "package": {"$ref": "#/components/schemas/PackageSummary"}}},
    "Review": {"type": ["object", "null"], "description": "a person's decision on a `review` check (GET only); null "
               "while nobody has reviewed it", "required": ["outcome", "comment", "reviewer", "at"], "properties": {
        "outcome": {"enum": ["approved", "rejected"]}, "comment": {"type": "string"}, "reviewer": {"type": "string"},
        "at": {"type": "string", "format": "date-time", "description": "ISO 8601 in Beijing time (+08:00)"}}},
    "Queued": {"type": "object", "required": ["check_id", "status_url"], "properties": {
        "check_id": {"type": "string"}, "status": {"enum": ["queued", "running"]},
        "status_url": {"type": "string"}}},
    "Check": {"type": "object", "required": ["check_id", "status"],
              "description": "A check as GET /api/v1/checks/{check_id} answers it: the decision's fields once done",
              "properties": {
                  "check_id": {"type": "string"}, "status": {"enum": ["queued", "running", "done", "failed"]},
                  "path": {"type": "string"}, "verdict": {"enum": ["allow", "review", "block"]},
                  "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
                  "filing": FILING_OR_NULL,
                  "checked_at": {"type": "string", "format": "date-time",
                                 "description": "when the check was received, ISO 8601 in Beijing time (+08:00)"},
                  "review": {"$ref": "#/components/schemas/Review"},
                  "package": {"$ref": "#/components/schemas/PackageSummary"},
                  "error": {"$ref": "#/components/schemas/ErrorDetail"}}},
    "ListingEvent": {"type": "object", "required": ["package", "action", "at"], "properties": {
        "package": {"type": "string", "description": "the platform's identifier (Android: the package name)"},
        "platform": {"enum": ["android", "ios", "harmony", "quickapp", "miniprogram"], "default": "android"},
        "version_code": {"type": "integer"},
        "action": {"enum": ["listed", "delisted"]},
        "at": {"type": "string", "format": "date-time", "description": "ISO 8601 with an offset"}}},
    "ListingEvents": {"type": "object", "required": ["events"], "properties": {
        "events": {"type": "array", "items": {"$ref": "#/components/schemas/ListingEvent"}}}},
    "ListingEventsResult": {"type": "object", "properties": {
        k: {"type": "integer"} for k in ("accepted", "duplicates", "listed", "delisted", "stale")}},
    "Badge": {"type": "object", "required": ["package", "service_licence", "link", "text"], "properties": {
        "package": {"type": "string"}, "service_licence": {"type": "string"}, "service_name": {"type": "string"},
        "unit_name": {"type": "string"}, "link": {"type": "string", "format": "uri"},
        "text": {"type": "string", "description": "APP备案号：<service_licence>, to show on the store page"}}},
    "FilingPlatform": {"type": "object", "required": ["platform", "identifier"], "properties": {
        "platform": {"type": "string"}, "identifier": {"type": "string"},
        **{k: {"type": ["string", "null"]} for k in ("public_key", "signature_md5", "signature_sha1",
                                                     "signature_sha256")}}},
    "Filing": {"type": "object", "required": ["service_licence", "status"], "properties": {
        "service_licence": {"type": "string"}, "main_licence": {"type": "string"},
        "service_type": {"type": "string"}, "service_name": {"type": "string"}, "unit_name": {"type": "string"},
        "unit_nature": {"type": "string"}, "status": {"enum": ["active", "cancelled", "revoked"]},
        "approved_at": {"type": ["string", "null"]}, "blacklisted": {"type": "boolean"},
        "platforms": {"type": "array", "items": {"$ref": "#/components/schemas/FilingPlatform"}},
        "domains": {"type": "array", "items": {"type": "string"}},
        "content_approvals": {"type": "array", "items": {"type": "string"}}}},
    "MiniprogramDeclaration": {
        "type": "object", "required": ["appid", "name"], "additionalProperties": False,
        "properties": {"appid": {"type": "string"}, "name": {"type": "string"},
                       "subject": {"type": "string"}, "version": {"type": "string"},
                       **{k: {"type": "array", "items": {"type": "string"}, "maxItems": MAX_DOMAINS}
                          for k in DOMAIN_LISTS}}},
    "PreinstallItem": {"type": "object", "required": ["package"], "properties": {
        "package": {"type": "string"}, "cert_sha256": {"type": "string"}, "cert_md5": {"type": "string"},
        "version_code": {"type": "integer"},
        "platform": {"type": "string", "enum": ["android", "quickapp"], "default": "android"}}},
    "PreinstallList": {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/PreinstallItem"}}}},
    "PreinstallItemResult": {"type": "object", "required": ["index", "verdict", "reasons"], "properties": {
        "index": {"type": "integer"}, "package": {"type": ["string", "null"]},
        "version_code": {"type": ["integer", "null"]}, "verdict": {"enum": ["allow", "review", "block"]},
        "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
        "filing": FILING_OR_NULL}},
    "PreinstallResult": {"type": "object", "required": ["items", "summary"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/PreinstallItemResult"}},
        "summary": {"type": "object", "properties": {
            k: {"type": "integer"} for k in ("total", "allow", "review", "block")}}}},
    "Health": {"type": "object", "required": ["status"], "properties": {
        "status": {"enum": ["ok", "unavailable", "overloaded"]},
        "database": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/ErrorDetail"}]},
        "error": {"$ref": "#/components/schemas/ErrorDetail"}}},
}

# Each operation's module in a generated client (rule 1).
TAGS = {"store": "App stores: the upload webhook, listing events, the store page's filing badge",
        "device-maker": "Device makers: preinstall list checks",
        "developer": "Developers: pre-checks and their state",
        "filings": "Filing records",
        "filing-applications": "Filing on a developer's behalf (代为备案)",
        "operations": "Health, metrics and this document"}

UPLOAD_BODY: dict[str, Any] = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["package"], "properties": {
        "package": {"type": "string", "format": "binary",
                    "contentMediaType": "application/vnd.android.package-archive"},
        "unpacked": {"type": "string", "format": "binary",
                     "contentMediaType": "application/vnd.android.package-archive",
                     "description": "optional: the unpacked build of a packed (加固) package; when it pairs (same "
                                    "package, versionCode and signers) its network resources decide, otherwise "
                                    "unpacked_mismatch blocks"},
        "metadata": {"type": "string", "description": "JSON object: store_app_id, developer_entity, callback_url, category"}}}},
    "application/json": {"schema": {
        "type": "object", "required": ["package_url", "sha256"],
        "description": "Always queued (202): the worker downloads the package and checks its SHA-256; a package "
                       "already decided answers 200 at once",
        "properties": {"package_url": {"type": "string", "format": "uri"}, "sha256": {"type": "string"},
                       "metadata": METADATA}}}}}

ASYNC_PARAM = {"name": "async", "in": "query", "schema": {"enum": ["1"]},
               "description": "Queue the check and answer 202 even for a small package"}


# The HTML pages for people, not part of the machine API's document (rule 4): the developer pre-check page (open)
# and the staff console (gate.web: signed in with the gate_session cookie, every POST a form carrying csrf_token).
# Listed so the route test can tell an undocumented API route from a page.
PAGES: dict[str, dict[str, str]] = {
    "/": {"get": "Developer pre-check page (zh-CN; ?lang=en)"},
    "/precheck": {"get": "Developer pre-check page", "post": "Upload from the pre-check page"},
    "/precheck/r/{token}": {"get": "A kept pre-check result: only for the browser that uploaded it (cookie "
                                   "gate_precheck), for 7 days"},
    "/precheck/certificate": {"post": "Filing values from a public certificate or provisioning profile"},
    "/console": {"get": "Redirect to the console dashboard"},
    "/console/": {"get": "Dashboard: decisions per day, top reasons, review queue age, sync and report state"},
    "/console/login": {"get": "Sign-in page", "post": "Sign in (username, password, csrf_token)"},
    "/console/logout": {"post": "Sign out"},
    "/console/reviews": {"get": "Review queue, oldest first (?store, ?reason, ?age hours; keyset paging: ?sort, "
                                "?after, ?before, ?page=last, ?size; links rel=next/prev)"},
    "/console/checks": {"get": "Checks (?verdict, ?package, ?reason, ?store, ?sha256; keyset paging)"},
    "/console/filing-applications": {"get": "Filing applications, newest first (?status, ?package); no personal data"},
    "/console/checks/{check_id}": {"get": "A check: reasons with evidence, package beside its filing, reviews"},
    "/console/reviews/bulk": {"post": "Approve or reject the ticked checks with one comment (reviewer role; "
                                      "each settled on its own, up to 100)"},
    "/console/checks/{check_id}/claim": {"post": "Claim a review item for 30 minutes, or release it (release=1)"},
    "/console/checks/{check_id}/review": {"post": "Approve or reject a review (outcome, comment; reviewer role)"},
    "/console/checks/{check_id}/apply": {"get": "The filing application form (代为备案) pre-filled from the check",
                                         "post": "File on the developer's behalf (reviewer role; the API's checks)"},
    "/console/filings": {"get": "Filings (?q number, package or unit)"},
    "/console/filings/{licence}": {"get": "A filing with its version history"},
    "/console/exemptions": {"get": "Exemption register (?q, ?state)", "post": "Add an exemption (admin)"},
    "/console/exemptions/{exemption_id}/revoke": {"get": "Confirm revoking: names the consequence, asks why",
                                                  "post": "Revoke an exemption (admin; confirm=1, why required)"},
    "/console/listings": {"get": "Listings inventory (?package, ?status)"},
    "/console/reports": {"get": "Regulator reports with attempts and receipts"},
    "/console/callbacks": {"get": "Callbacks and delist notices with their delivery state (?status)"},
    "/console/clients": {"get": "API clients", "post": "Create an API client (admin)"},
    "/console/clients/{client_id}/rotate": {"get": "Confirm rotating: the live integration stops at once",
                                            "post": "Rotate a client's API key and webhook secret (admin; confirm=1)"},
    "/console/clients/{client_id}/disable": {"get": "Confirm disabling a client",
                                             "post": "Disable (confirm=1) or enable a client (admin)"},
    "/console/trust-roots": {"get": "The roots each platform's signatures may chain to (built in and configured)"},
    "/console/users": {"get": "Console users (admin)", "post": "Create a user; its password is shown once (admin)"},
    "/console/users/{username}": {"post": "Reset a password, disable/enable, change a role (admin; audited)"},
    "/console/audit": {"get": "The audit trail, newest first (?actor, ?subject, ?action, ?from, ?to Beijing dates; "
                              "keyset paging)"},
    "/console/static/{filename}": {"get": "The console's CSS and JavaScript"},
}


def _path_parameter(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def _declare_path_parameters(paths: dict) -> dict:
    """Rule 2: each ``{name}`` of a path is a declared, required path parameter of every operation under it.

    Generators drop an operation whose template names a parameter it does not declare; declaring them here, from
    the template itself, keeps a route added later from being dropped.
    """
    for path, item in paths.items():
        names = re.findall(r"\{(\w+)\}", path)
        for operation in item.values():
            declared = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}
            missing = [_path_parameter(n) for n in names if n not in declared]
            if missing:
                operation["parameters"] = [*missing, *operation.get("parameters", [])]
    return paths


def document() -> dict:
    decision_or_queued = {"200": _json({"$ref": "#/components/schemas/Decision"}, "Decided"),
                          "202": _json({"$ref": "#/components/schemas/Queued"}, "Queued; see status_url")}
    paths = {
        "/api/v1/hooks/store/upload": {"post": {
            "operationId": "upload_package", "tags": ["store"],
            "summary": "App store upload webhook", "security": SIGNED, "parameters": [ASYNC_PARAM],
            "requestBody": UPLOAD_BODY,
            "responses": {**decision_or_queued, **_errors(400, 401, 403, 413, 415, 500, 507)}}},
        "/api/v1/hooks/store/listings": {"post": {
            "operationId": "post_listing_events", "tags": ["store"],
            "summary": "Listing and delisting events", "security": SIGNED,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/ListingEvents"}}}},
            "responses": {"200": _json({"$ref": "#/components/schemas/ListingEventsResult"}),
                          **_errors(400, 401, 403, 413, 500)}}},
        "/api/v1/badge/{package}": {"get": {
            "operationId": "get_badge", "tags": ["store"],
            "summary": "Filing number and MIIT link for a store page (?format=html: an HTML fragment)",
            "security": BEARER,
            "parameters": [_path_parameter("package"),
                           {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}},
                           {"name": "platform", "in": "query", "schema": {
                               "enum": ["android", "ios", "harmony", "quickapp", "miniprogram"],
                               "default": "android"}}],
            "responses": {"200": {"description": "Badge", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Badge"}},
                "text/html": {"schema": {"type": "string"}}}}, **_errors(400, 401, 403, 404, 500)}}},
        "/api/v1/preinstall/checks": {"post": {
            "operationId": "check_preinstall_list", "tags": ["device-maker"],
            "summary": "Device maker preinstall list check", "security": BEARER,
            # The same list is taken as CSV too (Content-Type text/csv); it is said in the description, not as a
            # second content type, because client generators refuse text/csv bodies (rule 3, docs/api.md).
            "description": "The list as JSON, or as CSV with Content-Type text/csv and the header "
                           "package,cert_sha256,cert_md5,version_code (docs/preinstall.md).",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"oneOf": [
                    {"type": "array", "items": {"$ref": "#/components/schemas/PreinstallItem"}},
                    {"$ref": "#/components/schemas/PreinstallList"}]}}}},
            "responses": {"200": _json({"$ref": "#/components/schemas/PreinstallResult"}),
                          **_errors(400, 401, 403, 413, 415, 500)}}},
        "/api/v1/miniprogram-checks": {"post": {
            "operationId": "check_miniprogram", "tags": ["developer", "store"],
            "summary": "Mini-program declaration check (AppID, name, subject, server domains)",
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/MiniprogramDeclaration"}}}},
            "responses": {"200": _json({"$ref": "#/components/schemas/Decision"}),
                          **_errors(400, 401, 403, 413, 500)}}},
        "/api/v1/checks": {"post": {
            "operationId": "create_check", "tags": ["developer"],
            "summary": "Developer pre-check", "security": BEARER, "parameters": [ASYNC_PARAM],
            "requestBody": {"required": True,
                            "content": {"multipart/form-data": UPLOAD_BODY["content"]["multipart/form-data"]}},
            "responses": {**decision_or_queued, **_errors(400, 401, 403, 413, 415, 500, 507)}}},
        "/api/v1/checks/{check_id}": {"get": {
            "operationId": "get_check", "tags": ["developer", "store"],
            "summary": "A check's state and, once done, its decision (stores poll their uploads' status_url here)",
            "security": BEARER, "parameters": [_path_parameter("check_id")],
            "responses": {"200": _json({"$ref": "#/components/schemas/Check"}), **_errors(401, 403, 404, 500)}}},
        "/api/v1/filing-applications": {"post": {
            "operationId": "create_filing_application", "tags": ["filing-applications"],
            "summary": "File an app through the platform (代为备案): pre-filled from the client's verified check, "
                       "pre-submission checks, sealed, submitted to the regulator (docs/api.md)",
            "security": BEARER,
            "requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/FilingApplicationForm"}}}},
            "responses": {"201": _json({"$ref": "#/components/schemas/FilingApplication"}, "Created"),
                          **_errors(400, 401, 403, 404, 422, 500, 503)}}},
        "/api/v1/filing-applications/{application_id}": {"get": {
            "operationId": "get_filing_application", "tags": ["filing-applications"],
            "summary": "A filing application's state (no personal data)", "security": BEARER,
            "parameters": [_path_parameter("application_id")],
            "responses": {"200": _json({"$ref": "#/components/schemas/FilingApplication"}),
                          **_errors(401, 403, 404, 500)}}},
        "/api/v1/filing-applications/{application_id}/corrections": {"post": {
            "operationId": "correct_filing_application", "tags": ["filing-applications"],
            "summary": "Correct a returned application (the changed form fields) and submit the new round",
            "security": BEARER, "parameters": [_path_parameter("application_id")],
            "requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/FilingApplicationForm"}}}},
            "responses": {"200": _json({"$ref": "#/components/schemas/FilingApplication"}),
                          **_errors(400, 401, 403, 404, 409, 422, 500, 503)}}},
        "/api/v1/filings/{service_licence}": {"get": {
            "operationId": "get_filing", "tags": ["filings"],
            "summary": "A filing record by its service filing number", "security": BEARER,
            "parameters": [_path_parameter("service_licence")],
            "responses": {"200": _json({"$ref": "#/components/schemas/Filing"}), **_errors(401, 403, 404, 500)}}},
        "/healthz": {"get": {
            "operationId": "get_health", "tags": ["operations"],
            "summary": "Can this instance take work: a database round trip within 3 s and a free request thread",
            "security": [],
            "responses": {"200": _json({"$ref": "#/components/schemas/Health"}),
                          "503": _json({"$ref": "#/components/schemas/Health"},
                                       "Database unavailable, or overloaded (Retry-After)")}}},
        "/metrics": {"get": {
            "operationId": "get_metrics", "tags": ["operations"], "summary": "Prometheus metrics", "security": [],
            "responses": {"200": {"description": "Prometheus text format",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {
            "operationId": "get_openapi_document", "tags": ["operations"], "summary": "This document",
            "security": [], "responses": {"200": _json({"type": "object", "additionalProperties": True})}}},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "Filing gate", "version": __version__,
                 "description": "APP备案 checks for app stores, device makers and developers. Errors are "
                                "{\"error\": {\"code\", \"message\"}}. The staff console and the pre-check page are "
                                "HTML for people and not described here (docs/console.md)."},
        "tags": [{"name": name, "description": text} for name, text in TAGS.items()],
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "gk_<key id>_<secret>"},
                "webhookSignature": {"type": "apiKey", "in": "header", "name": "X-Gate-Signature",
                                     "description": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)>"},
            },
            "schemas": SCHEMAS,
        },
        "paths": _declare_path_parameters(paths),
    }
