"""The examples of README.md and docs/*.md marked runnable (a fenced block whose info string is ``sh runnable``) work
as written: each runs under ``bash -e -o pipefail`` in a fresh folder with this environment's ``gate`` on PATH.

- A block that calls the server (``127.0.0.1:8000``) runs against a live ``gate serve`` whose database was set up
  with ``gate db upgrade && gate demo``; the demo clients' credentials are in the variables docs/api.md names
  (``API_KEY``/``WEBHOOK_SECRET`` of demo-store, ``OEM_KEY``, ``DEV_KEY``) and ``app.apk`` is the bundled example.
- Any other block gets its own folder and the default database there (``gate.db``), as a reader's shell would.
- Ports are the only thing rewritten: 8000 and 8765 become free ports, so runs beside each other do not collide.
- A block fails the test when it exits non-zero, prints a traceback, or prints an error answer (``"error": {``).
  Background processes it starts (``… &``) are stopped with its process group.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys

import pytest
import requests

from tests import requirements
from tests.integration.http_support import free_port, wait_for

ROOT = pathlib.Path(__file__).parents[2]
EXAMPLE = ROOT / "gate" / "examples" / "hello_zh.apk"
FENCE = re.compile(r"^```sh runnable\n(.*?)^```", re.M | re.S)
DOCUMENTED_PORTS = ("8000", "8765")


def runnable_blocks() -> list[tuple[str, str]]:
    found = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append((f"{doc.relative_to(ROOT)}:{line}", match.group(1)))
    return found


BLOCKS = runnable_blocks()


def _base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "VIRTUAL_ENV"))}
    env["PATH"] = f"{pathlib.Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """``gate serve`` on a free port over a database made by ``gate db upgrade && gate demo``."""
    home = tmp_path_factory.mktemp("live")
    port = free_port()
    env = {**_base_env(), "GATE_DATABASE_URL": f"sqlite:///{home / 'gate.db'}", "GATE_PORT": str(port)}
    for command in (["db", "upgrade"], ["demo", "--credentials", str(home / "demo.json")]):
        done = subprocess.run(["gate", *command], cwd=home, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    clients = {c["role"]: c for c in json.loads((home / "demo.json").read_text(encoding="utf-8"))}
    server = subprocess.Popen(["gate", "serve", "--workers", "1", "--threads", "4"], cwd=home, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def up():
        try:
            return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            assert server.poll() is None, "gate serve exited"
            return False
    try:
        wait_for(up, timeout=120, what="the live gate serve")
        yield {"port": port, "env": {
            "GATE_DATABASE_URL": env["GATE_DATABASE_URL"], "GATE_PORT": str(port),
            "API_KEY": clients["store"]["api_key"], "WEBHOOK_SECRET": clients["store"]["webhook_secret"],
            "OEM_KEY": clients["oem"]["api_key"], "DEV_KEY": clients["developer"]["api_key"]}}
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_the_docs_have_runnable_examples():
    assert {where.split(":")[0] for where, _ in BLOCKS} >= {"README.md", "docs/api.md"}


@pytest.mark.parametrize("block", [text for _, text in BLOCKS], ids=[where for where, _ in BLOCKS])
def test_runnable_block_works_as_written(block, tmp_path, live):
    for tool in ("curl", "openssl"):
        if re.search(rf"\b{tool}\b", block):
            requirements.tool(tool, how=f"apt-get install {tool}")
    ports = {"8000": str(live["port"]), "8765": str(free_port())}
    script = re.sub(r"(?<=127\.0\.0\.1:)(8000|8765)\b|(?<=--port )(8000|8765)\b",
                    lambda m: ports[m.group(0)], block)
    env = _base_env()
    if f"127.0.0.1:{live['port']}" in script:
        env.update(live["env"])
    (tmp_path / ".venv").symlink_to(sys.prefix)  # the README's `. .venv/bin/activate`, from a fresh folder
    shutil.copyfile(EXAMPLE, tmp_path / "app.apk")
    proc = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], cwd=tmp_path, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)  # what the block left running in the background
        except ProcessLookupError:
            pass
    shown = f"--- stdout\n{out}\n--- stderr\n{err}"
    assert proc.returncode == 0, shown
    assert "Traceback" not in out + err and '"error": {' not in out and '"error":{' not in out, shown
