"""A store's engineers generate a Python client from the served /openapi.json with the real openapi-python-client,
with zero warnings, and use it as a store does: upload a package (multipart, signed webhook), read the check back,
post listing events, show the badge. Expected values come from the filings the test imported and from the same
answers read over plain HTTP, not from the client."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest
import requests

from gate.services.signatures import HEADER, sign
from tests import requirements
from tests.integration.http_support import APKS, HELLO, HELLO_LICENCE, HELLO_PACKAGE, count

PACKAGE_NAME = "filing_gate_client"
# Where `make venv` installs the generator: its own environment, as a store's engineers would (pipx).
TOOLS = pathlib.Path(__file__).resolve().parents[2] / ".venv" / "tools" / "bin"


@pytest.fixture
def generated(gate, tmp_path):
    """The client generated from the running gate's document; (package module, generator output)."""
    generator = shutil.which("openapi-python-client") or str(TOOLS / "openapi-python-client")
    requirements.file(generator, how="make venv (installs the generator into .venv/tools)")
    document = requests.get(f"{gate.url}/openapi.json", timeout=10)
    assert document.status_code == 200
    spec = tmp_path / "openapi.json"
    spec.write_bytes(document.content)
    out = tmp_path / PACKAGE_NAME  # --meta none: the output path is the package itself
    # ruff (a dependency of the generator) formats what it writes: it must be on PATH, or the generator warns.
    env = {**os.environ, "PATH": f"{pathlib.Path(generator).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    run = subprocess.run([generator, "generate", "--path", str(spec), "--output-path", str(out), "--meta", "none"],
                         capture_output=True, text=True, timeout=300, env=env)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m == PACKAGE_NAME or m.startswith(PACKAGE_NAME + ".")]:
            del sys.modules[name]
        importlib.invalidate_caches()
        yield importlib.import_module(PACKAGE_NAME), output
    finally:
        sys.path.remove(str(tmp_path))


def _signing_hook(secret: str):
    """The webhook signature over the exact body httpx sends (docs/api.md): read it, sign it, add the header."""
    def hook(request):
        if request.url.path.startswith("/api/v1/hooks/"):
            request.headers[HEADER] = sign(request.read(), secret)
    return hook


def test_store_uploads_reads_back_and_posts_listings_through_the_generated_client(gate, generated):
    client_pkg, output = generated
    # Zero warnings: the generator names each operation it leaves out, and each schema it cannot read.
    assert "warning" not in output.lower(), output
    assert "Endpoint will not be generated" not in output
    store = gate.clients["store"]
    models = importlib.import_module(f"{PACKAGE_NAME}.models")
    types = importlib.import_module(f"{PACKAGE_NAME}.types")
    upload_package = importlib.import_module(f"{PACKAGE_NAME}.api.store.upload_package")
    post_listing_events = importlib.import_module(f"{PACKAGE_NAME}.api.store.post_listing_events")
    get_badge = importlib.import_module(f"{PACKAGE_NAME}.api.store.get_badge")
    get_check = importlib.import_module(f"{PACKAGE_NAME}.api.developer.get_check")

    client = client_pkg.AuthenticatedClient(
        base_url=gate.url, token=store.api_key, timeout=30,
        httpx_args={"event_hooks": {"request": [_signing_hook(store.webhook_secret)]}})
    with client, open(HELLO, "rb") as package:
        body = models.UploadPackageFilesBody(
            package=types.File(payload=package, file_name=HELLO.name,
                               mime_type="application/vnd.android.package-archive"),
            metadata=json.dumps({"store_app_id": "app-1"}))
        uploaded = upload_package.sync_detailed(client=client, body=body)
        assert uploaded.status_code == 200, uploaded.content
        decision = uploaded.parsed
        assert isinstance(decision, models.Decision)
        assert decision.verdict.value == "allow"
        assert decision.filing.service_licence == HELLO_LICENCE
        assert decision.package.package == HELLO_PACKAGE

        # Read back through the generated client, and compare with the same answer over plain HTTP.
        check = get_check.sync(decision.check_id, client=client)
        assert isinstance(check, models.Check)
        plain = requests.get(f"{gate.url}/api/v1/checks/{decision.check_id}", headers=gate.headers("store"),
                             timeout=10).json()
        assert check.status.value == plain["status"] == "done"
        assert check.verdict.value == plain["verdict"] and check.check_id == plain["check_id"]
        assert [r.code for r in check.reasons] == [r["code"] for r in plain["reasons"]]

        at = dt.datetime(2024, 5, 1, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
        events = models.ListingEvents(events=[models.ListingEvent(
            package=HELLO_PACKAGE, version_code=decision.package.version_code,
            action=models.ListingEventAction.LISTED, at=at)])
        result = post_listing_events.sync(client=client, body=events)
        assert isinstance(result, models.ListingEventsResult), result
        assert (result.accepted, result.listed, result.duplicates) == (1, 1, 0)
        assert count(gate.engine, "listing_event") == 1

        badge = get_badge.sync(HELLO_PACKAGE, client=client, format_=models.GetBadgeFormat.JSON)
        assert isinstance(badge, models.Badge) and badge.service_licence == HELLO_LICENCE

        # An unfiled package: the decision's filing is null, and the generated model says None.
        with open(APKS / "key_ec256.apk", "rb") as unfiled:
            blocked = upload_package.sync(client=client, body=models.UploadPackageFilesBody(
                package=types.File(payload=unfiled, file_name="key_ec256.apk")))
        assert isinstance(blocked, models.Decision) and blocked.verdict.value == "block"
        assert blocked.filing is None and [r.code for r in blocked.reasons] == ["unfiled"]

        # A failure comes back as the Error model with the gate's stable code.
        missing = get_check.sync("no-such-check", client=client)
        assert isinstance(missing, models.Error) and missing.error.code == "check_not_found"
