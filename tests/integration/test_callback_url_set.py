"""Callback URLs are refused where they are set — `gate clients create --callback-url`, the console's client form,
an upload's metadata — with their own code and a message naming the callback URL. The review found
`gate clients create --callback-url http://…` accepted and refused only at the first callback, under package_url's
name."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import requests

from gate.web.accounts import create_user
from tests.integration.http_support import prepare_database, start_gate

PASSWORD = "correct horse battery"


def _clients_create(url: str, callback: str, name: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gate.cli", "clients", "create", "--name", name, "--role", "store",
                           "--callback-url", callback, "--json"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "GATE_DATABASE_URL": url, **env})


def test_cli_refuses_a_callback_url_at_creation_and_local_settings_allow_it(tmp_path, sqlite_url):
    prepare_database(sqlite_url, tmp_path).dispose()
    for callback in ("http://127.0.0.1:9/hook", "https://169.254.169.254/latest", "https://10.1.2.3/x",
                     "ftp://store.example/x", "https://user:pw@store.example/x"):
        done = _clients_create(sqlite_url, callback, "shop")
        assert done.returncode == 2, (callback, done.stdout, done.stderr)
        assert "callback_url_forbidden" in done.stderr and "callback URL" in done.stderr, done.stderr
        assert "package_url" not in done.stderr and "Traceback" not in done.stderr
        assert "GATE_FETCH_ALLOW_HTTP" in done.stderr  # says how to test locally
    # Nothing was created by the refusals; the local-testing settings let a loopback receiver in.
    made = _clients_create(sqlite_url, "http://127.0.0.1:9/hook", "shop",
                           GATE_FETCH_ALLOW_HTTP="1", GATE_FETCH_ALLOW_NETWORKS="127.0.0.0/8")
    assert made.returncode == 0, made.stderr
    assert '"callback_url": "http://127.0.0.1:9/hook"' in made.stdout


def test_console_and_api_refuse_with_the_same_code_and_message(tmp_path, sqlite_url):
    g, server = start_gate(tmp_path, sqlite_url)
    try:
        r = g.upload(query="?async=1", metadata={"callback_url": "http://127.0.0.1:9/x"})
        error = r.json()["error"]
        assert r.status_code == 400 and error["code"] == "callback_url_forbidden"
        assert error["message"].startswith("callback URL must use https") and "package_url" not in error["message"]
        create_user(g.engine, username="boss", role="admin", password=PASSWORD)
        session = requests.Session()
        token = re.search(r'name="csrf_token" value="([^"]+)"', session.get(f"{g.url}/console/login").text).group(1)
        assert session.post(f"{g.url}/console/login", data={"csrf_token": token, "username": "boss",
                                                             "password": PASSWORD},
                            allow_redirects=False).status_code == 302
        page = session.get(f"{g.url}/console/clients?lang=en").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        refused = session.post(f"{g.url}/console/clients?lang=en", data={
            "csrf_token": token, "name": "shop", "role": "store", "callback_url": "https://192.168.1.5/hook"})
        assert refused.status_code == 400 and "callback_url_forbidden" in refused.text
        assert "192.168.1.5, which is not a public address" in refused.text
    finally:
        server.shutdown()
