"""The image's per-role health check (deploy/healthcheck.py) finds the role in the container's main command line,
as /proc/1/cmdline holds it (NUL-separated), through the image's `sh -c '… && exec gate …'` wrappers too."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

SCRIPT = pathlib.Path(__file__).parents[2] / "deploy" / "healthcheck.py"
_spec = importlib.util.spec_from_file_location("deploy_healthcheck", SCRIPT)
healthcheck = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(healthcheck)


@pytest.mark.parametrize("argv, role", [
    (["sh", "-c", 'gate db wait --timeout "$SCHEMA_WAIT_SECONDS" && exec gate serve --host "$HOST"'], "serve"),
    (["/opt/gate/bin/python3", "/opt/gate/bin/gate", "serve", "--host", "0.0.0.0"], "serve"),
    (["sh", "-c", "gate db wait && exec gate worker"], "worker"),
    (["/opt/gate/bin/python3", "/opt/gate/bin/gate", "scheduler"], "scheduler"),
    (["/opt/gate/bin/python3", "-m", "gate.cli", "worker"], "worker"),
    (["/opt/gate/bin/python3", "/opt/gate/bin/gate", "db", "upgrade"], None),
    (["tar", "-C", "/var/lib/gate/spool", "-czf", "-", "."], None),
])
def test_role_from_the_main_command(argv, role):
    assert healthcheck.role("\0".join(argv).encode() + b"\0") == role
