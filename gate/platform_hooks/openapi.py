"""The OpenAPI 3.1 document served at ``/openapi.json``; tests/unit/test_openapi.py keeps it in step with the routes."""

from __future__ import annotations

from gate import __version__

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


BEARER = [{"apiKey": []}]
SIGNED = [{"apiKey": [], "webhookSignature": []}]
AUTH_ERRORS = (401, 403, 500)

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
        "regulator_id": {"type": ["string", "null"]}, "reasons": {"type": "array", "items": {"type": "object"}},
        "service_licence": {"type": ["string", "null"]}, "last_error": {"type": ["string", "null"]},
        "created_at": {"type": "string"}, "updated_at": {"type": "string"}}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["code", "message"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}}}}},
    "Reason": {"type": "object", "required": ["code", "severity", "message"], "properties": {
        "code": {"type": "string"}, "severity": {"enum": ["block", "review", "info"]},
        "message": {"type": "object", "properties": {"zh": {"type": "string"}, "en": {"type": "string"}}},
        "evidence": {"type": "object"}}},
    "FilingSummary": {"type": ["object", "null"], "properties": {
        "service_licence": {"type": "string"}, "service_name": {"type": "string"},
        "unit_name": {"type": "string"}, "status": {"type": "string"}}},
    "Decision": {"type": "object", "required": ["check_id", "verdict", "reasons"], "properties": {
        "check_id": {"type": "string"}, "status": {"enum": ["done"]}, "path": {"type": "string"},
        "verdict": {"enum": ["allow", "review", "block"]},
        "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Reason"}},
        "filing": {"$ref": "#/components/schemas/FilingSummary"},
        "package": {"type": "object"}}},
    "Queued": {"type": "object", "required": ["check_id", "status_url"], "properties": {
        "check_id": {"type": "string"}, "status": {"enum": ["queued", "running"]},
        "status_url": {"type": "string"}}},
    "PreinstallItem": {"type": "object", "required": ["package"], "properties": {
        "package": {"type": "string"}, "cert_sha256": {"type": "string"}, "cert_md5": {"type": "string"},
        "version_code": {"type": "integer"}}},
}

UPLOAD_BODY = {"required": True, "content": {
    "multipart/form-data": {"schema": {"type": "object", "required": ["package"], "properties": {
        "package": {"type": "string", "contentMediaType": "application/vnd.android.package-archive"},
        "metadata": {"type": "string", "description": "JSON object: store_app_id, developer_entity, callback_url, category"}}}},
    "application/json": {"schema": {
        "type": "object", "required": ["package_url", "sha256"],
        "description": "Always queued (202): the worker downloads the package and checks its SHA-256; a package "
                       "already decided answers 200 at once",
        "properties": {"package_url": {"type": "string", "format": "uri"}, "sha256": {"type": "string"},
                       "metadata": METADATA}}}}}

ASYNC_PARAM = {"name": "async", "in": "query", "schema": {"enum": ["1"]},
               "description": "Queue the check and answer 202 even for a small package"}


# The staff console (gate.web): HTML pages for people, signed in with the gate_session cookie; every POST is a form
# carrying csrf_token. Listed so the document names every route the app serves.
CONSOLE_PAGES: dict[str, dict[str, str]] = {
    "/console": {"get": "Redirect to the console dashboard"},
    "/console/": {"get": "Dashboard: decisions per day, top reasons, review queue age, sync and report state"},
    "/console/login": {"get": "Sign-in page", "post": "Sign in (username, password, csrf_token)"},
    "/console/logout": {"post": "Sign out"},
    "/console/reviews": {"get": "Review queue, oldest first (?store, ?reason, ?age hours)"},
    "/console/checks": {"get": "Checks (?verdict, ?package, ?reason)"},
    "/console/filing-applications": {"get": "Filing applications, newest first (?status, ?package); no personal data"},
    "/console/checks/{check_id}": {"get": "A check: reasons with evidence, package beside its filing, reviews"},
    "/console/checks/{check_id}/review": {"post": "Approve or reject a review (outcome, comment; reviewer role)"},
    "/console/checks/{check_id}/apply": {"get": "The filing application form (代为备案) pre-filled from the check",
                                         "post": "File on the developer's behalf (reviewer role; the API's checks)"},
    "/console/filings": {"get": "Filings (?q number, package or unit)"},
    "/console/filings/{licence}": {"get": "A filing with its version history"},
    "/console/exemptions": {"get": "Exemption register (?q, ?state)", "post": "Add an exemption (admin)"},
    "/console/exemptions/{exemption_id}/revoke": {"post": "Revoke an exemption (admin)"},
    "/console/listings": {"get": "Listings inventory (?package, ?status)"},
    "/console/reports": {"get": "Regulator reports with attempts and receipts"},
    "/console/callbacks": {"get": "Callbacks and delist notices with their delivery state (?status)"},
    "/console/clients": {"get": "API clients", "post": "Create an API client (admin)"},
    "/console/clients/{client_id}/rotate": {"post": "Rotate a client's API key and webhook secret (admin)"},
    "/console/clients/{client_id}/disable": {"post": "Disable or enable a client (admin)"},
    "/console/trust-roots": {"get": "The roots each platform's signatures may chain to (built in and configured)"},
    "/console/static/{filename}": {"get": "The console's CSS and JavaScript"},
}


def _console_paths() -> dict:
    return {path: {method: {"summary": summary, "tags": ["console"], "security": [{"consoleSession": []}],
                            "responses": {"200": {"description": "HTML page"}, "302": {"description": "Redirect"}}}
                   for method, summary in methods.items()} for path, methods in CONSOLE_PAGES.items()}


def document() -> dict:
    decision_or_queued = {"200": _json({"$ref": "#/components/schemas/Decision"}, "Decided"),
                          "202": _json({"$ref": "#/components/schemas/Queued"}, "Queued; see status_url")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Filing gate", "version": __version__,
                 "description": "APP备案 checks for app stores, device makers and developers. Errors are "
                                "{\"error\": {\"code\", \"message\"}}."},
        "components": {
            "securitySchemes": {
                "consoleSession": {"type": "apiKey", "in": "cookie", "name": "gate_session",
                                   "description": "A staff user's console session (gate users create)"},
                "apiKey": {"type": "http", "scheme": "bearer", "description": "gk_<key id>_<secret>"},
                "webhookSignature": {"type": "apiKey", "in": "header", "name": "X-Gate-Signature",
                                     "description": "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, '<t>.' + body)>"},
            },
            "schemas": SCHEMAS,
        },
        "paths": {
            "/api/v1/hooks/store/upload": {"post": {
                "summary": "App store upload webhook", "security": SIGNED, "parameters": [ASYNC_PARAM],
                "requestBody": UPLOAD_BODY,
                "responses": {**decision_or_queued, **_errors(400, 401, 403, 413, 415, 500, 507)}}},
            "/api/v1/hooks/store/listings": {"post": {
                "summary": "Listing and delisting events", "security": SIGNED,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["events"], "properties": {"events": {"type": "array", "items": {
                        "type": "object", "required": ["package", "action", "at"], "properties": {
                            "package": {"type": "string"}, "version_code": {"type": "integer"},
                            "action": {"enum": ["listed", "delisted"]},
                            "at": {"type": "string", "format": "date-time"}}}}}}}}},
                "responses": {"200": _json({"type": "object", "properties": {
                    k: {"type": "integer"} for k in ("accepted", "duplicates", "listed", "delisted", "stale")}}),
                    **_errors(400, 401, 403, 413, 500)}}},
            "/api/v1/badge/{package}": {"get": {
                "summary": "Filing number and MIIT link for a store page", "security": BEARER,
                "parameters": [{"name": "package", "in": "path", "required": True, "schema": {"type": "string"}},
                               {"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}}],
                "responses": {"200": {"description": "Badge", "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}}}}, **_errors(401, 403, 404, 500)}}},
            "/api/v1/preinstall/checks": {"post": {
                "summary": "Device maker preinstall list check", "security": BEARER,
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {"oneOf": [
                        {"type": "array", "items": {"$ref": "#/components/schemas/PreinstallItem"}},
                        {"type": "object", "properties": {"items": {
                            "type": "array", "items": {"$ref": "#/components/schemas/PreinstallItem"}}}}]}},
                    "text/csv": {"schema": {"type": "string",
                                            "description": "header: package,cert_sha256,cert_md5,version_code"}}}},
                "responses": {"200": _json({"type": "object", "properties": {
                    "items": {"type": "array"}, "summary": {"type": "object"}}}),
                    **_errors(400, 401, 403, 413, 415, 500)}}},
            "/api/v1/miniprogram-checks": {"post": {
                "summary": "Mini-program declaration check (AppID, name, subject, server domains)",
                "security": BEARER,
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["appid", "name"], "additionalProperties": False,
                    "properties": {"appid": {"type": "string"}, "name": {"type": "string"},
                                   "subject": {"type": "string"}, "version": {"type": "string"},
                                   **{k: {"type": "array", "items": {"type": "string"}, "maxItems": 200}
                                      for k in ("request_domain", "socket_domain", "upload_domain",
                                                "download_domain", "business_domain")}}}}}},
                "responses": {"200": _json({"$ref": "#/components/schemas/Decision"}),
                              **_errors(400, 401, 403, 413, 500)}}},
            "/api/v1/checks": {"post": {
                "summary": "Developer pre-check", "security": BEARER, "parameters": [ASYNC_PARAM],
                "requestBody": {"required": True,
                                "content": {"multipart/form-data": UPLOAD_BODY["content"]["multipart/form-data"]}},
                "responses": {**decision_or_queued, **_errors(400, 401, 403, 413, 415, 500, 507)}}},
            "/api/v1/checks/{check_id}": {"get": {
                "summary": "A check's state and decision", "security": BEARER,
                "parameters": [{"name": "check_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json({"oneOf": [{"$ref": "#/components/schemas/Decision"},
                                                      {"$ref": "#/components/schemas/Queued"}]}),
                              **_errors(401, 403, 404, 500)}}},
            "/api/v1/filing-applications": {"post": {
                "summary": "File an app through the platform (代为备案): pre-filled from the client's verified check, "
                           "pre-submission checks, sealed, submitted to the regulator (docs/api.md)",
                "security": BEARER,
                "requestBody": {"content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/FilingApplicationForm"}}}},
                "responses": {"201": _json({"$ref": "#/components/schemas/FilingApplication"}, "Created"),
                              **_errors(400, 401, 403, 404, 422, 500, 503)}}},
            "/api/v1/filing-applications/{application_id}": {"get": {
                "summary": "A filing application's state (no personal data)", "security": BEARER,
                "parameters": [{"name": "application_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/FilingApplication"}),
                              **_errors(401, 403, 404, 500)}}},
            "/api/v1/filing-applications/{application_id}/corrections": {"post": {
                "summary": "Correct a returned application (the changed form fields) and submit the new round",
                "security": BEARER,
                "parameters": [{"name": "application_id", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "requestBody": {"content": {"application/json": {"schema": {
                    "$ref": "#/components/schemas/FilingApplicationForm"}}}},
                "responses": {"200": _json({"$ref": "#/components/schemas/FilingApplication"}),
                              **_errors(400, 401, 403, 404, 409, 422, 500, 503)}}},
            "/api/v1/filings/{service_licence}": {"get": {
                "summary": "A filing record by its service filing number", "security": BEARER,
                "parameters": [{"name": "service_licence", "in": "path", "required": True,
                                "schema": {"type": "string"}}],
                "responses": {"200": _json({"type": "object"}), **_errors(401, 403, 404, 500)}}},
            "/healthz": {"get": {"summary": "Can this instance take work: a database round trip within 3 s and a free "
                                            "request thread", "security": [],
                                 "responses": {"200": _json({"type": "object"}),
                                               "503": _json({"type": "object"},
                                                            "Database unavailable, or overloaded (Retry-After)")}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "security": [], "responses": {"200": {
                "description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "This document", "security": [],
                                      "responses": {"200": _json({"type": "object"})}}},
            "/": {"get": {"summary": "Developer pre-check page (zh-CN; ?lang=en)", "security": [],
                          "responses": {"200": {"description": "HTML page"}}}},
            "/precheck": {
                "get": {"summary": "Developer pre-check page", "security": [],
                        "responses": {"200": {"description": "HTML page"}}},
                "post": {"summary": "Upload from the pre-check page", "security": [],
                         "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
                         "responses": {"200": {"description": "HTML page with the result"},
                                       "400": {"description": "HTML page with the error"}}}},
            "/precheck/certificate": {
                "post": {"summary": "Filing values from a public certificate or provisioning profile (field "
                                    "`certificate`); a file holding a private key is refused and not kept",
                         "security": [],
                         "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
                         "responses": {"200": {"description": "HTML page with the values"},
                                       "400": {"description": "HTML page with the refusal, in the page's language"}}}},
            **_console_paths(),
        },
    }
