"""The package as users get it: the wheel and sdist build without warnings, carry the licence, the migrations and the
example, and the wheel installed into a fresh virtual environment runs `gate db upgrade`, `gate demo` and
`gate serve` in an empty folder, away from the source tree."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import venv
import zipfile

import pytest
import requests

from tests.integration.http_support import free_port, wait_for

ROOT = pathlib.Path(__file__).parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # From a copy: setuptools writes build/ and *.egg-info beside the sources, and a stale build/lib would slip
    # removed modules into the next wheel.
    source = tmp_path_factory.mktemp("source") / "filing-gate"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info",
                                                                "__pycache__", ".pytest_cache", "gate.db*"))
    proc = subprocess.run([sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(source)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "deprecat" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return wheel, sdist


def test_wheel_and_sdist_carry_licence_migrations_and_example(dist):
    wheel, sdist = dist
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "License-Expression: Apache-2.0" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert {"gate/examples/hello_zh.apk", "gate/db/migrations/__init__.py"} <= names
    assert "fdroid_gate.py" in names  # top level: where fdroidserver looks for the `fdroid gate` plugin
    assert any(n.startswith("gate/db/migrations/versions/") for n in names)
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "gate/examples/hello_zh.apk"} <= members


def test_the_example_in_the_package_is_the_recorded_fixture():
    assert (ROOT / "gate/examples/hello_zh.apk").read_bytes() == (ROOT / "fixtures/apks/hello_zh.apk").read_bytes()


def test_installed_wheel_runs_without_the_source_tree(dist, tmp_path):
    wheel, _ = dist
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bin_dir = env_dir / "bin"
    install = subprocess.run([bin_dir / "pip", "install", "--disable-pip-version-check", "-q", str(wheel)],
                             capture_output=True, text=True, timeout=900)
    assert install.returncode == 0, install.stderr[-3000:]
    work = tmp_path / "empty"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GATE_", "PYTHON", "VIRTUAL_ENV"))}
    port = free_port()
    env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", GATE_PORT=str(port))

    def gate(*args):
        return subprocess.run(["gate", *args], cwd=work, env=env, capture_output=True, text=True, timeout=300)

    assert gate("--version").stdout.startswith("gate, version ")
    # fdroidserver lists plugins with pkgutil.iter_modules(): the installed wheel's fdroid_gate must be among them.
    plugins = subprocess.run([bin_dir / "python", "-c", "import pkgutil; print(sorted(m.name for m in "
                              "pkgutil.iter_modules() if m.name.startswith('fdroid_')))"],
                             cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert plugins.stdout.strip() == "['fdroid_gate']", plugins.stdout + plugins.stderr
    # The wheel carries the network scanner's compiled core (setup.py builds it), not only its Python oracle.
    compiled = subprocess.run([bin_dir / "python", "-c", "from gate.extract.network import core; "
                               "print(core.active(), core.compiled_core.__file__)"],
                              cwd=work, env=env, capture_output=True, text=True, timeout=60)
    assert compiled.stdout.startswith("compiled " + str(env_dir)), compiled.stdout + compiled.stderr
    assert gate("db", "upgrade").returncode == 0
    demo = gate("demo")
    assert demo.returncode == 0, demo.stderr
    assert f"http://127.0.0.1:{port}/console/" in demo.stderr
    example = demo.stderr.rsplit("gate check ", 1)[1].strip()
    assert example.startswith(str(env_dir)) and not example.startswith(str(ROOT))
    checked = gate("check", example)
    assert checked.returncode == 0 and checked.stdout.startswith("ALLOW"), checked.stdout + checked.stderr
    server = subprocess.Popen(["gate", "serve", "--workers", "1", "--threads", "2"], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        def healthy():
            try:
                r = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            except requests.RequestException:
                assert server.poll() is None, server.stderr.read()
                return None
            return r if r.status_code == 200 else None
        assert wait_for(healthy, timeout=60, what="/healthz of the installed gate").json()["database"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=60)
