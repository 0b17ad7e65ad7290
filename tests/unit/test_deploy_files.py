"""The deployment files name real commands and settings: every `gate …` command line in the Dockerfile and
compose.yaml parses with the CLI as it is today, and every GATE_* variable they set is a documented setting.

(deploy/build-image.sh builds and runs the image with podman; this keeps the files from rotting where that cannot
run.)"""

from __future__ import annotations

import json
import pathlib
import re
import shlex

import click
import pytest

from gate.cli import cli

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
COMPOSE = (ROOT / "compose.yaml").read_text(encoding="utf-8")


IMAGE_VARIABLES = {'"$HOST"': "0.0.0.0", '"$PORT"': "8000", '"$SCHEMA_WAIT_SECONDS"': "300"}


def _gate_commands(argv: list[str]) -> list[list[str]]:
    """The `gate …` commands of one command line, through `sh -c 'gate db wait && exec gate …'`."""
    if argv[:2] != ["sh", "-c"]:
        return [argv]
    script = argv[2]
    for variable, value in IMAGE_VARIABLES.items():
        script = script.replace(variable, value)
    return [shlex.split(part.strip().removeprefix("exec ")) for part in script.split("&&")]


def _command_lines() -> list[list[str]]:
    lines = [json.loads(m) for m in re.findall(r'^\s*command: (\[.*\])\s*$', COMPOSE, re.M)]
    lines.append(json.loads(re.search(r"^CMD (\[.*\])\s*$", DOCKERFILE, re.M).group(1)))
    commands = [command for line in lines for command in _gate_commands(line)]
    return [command for command in commands if command[0] == "gate"]


def test_every_deployment_command_line_parses():
    lines = _command_lines()
    assert {tuple(line[1:3]) if line[1] == "db" else (line[1],) for line in lines} >= {
        ("serve",), ("worker",), ("scheduler",), ("db", "upgrade"), ("db", "wait")}
    for line in lines:
        group, args = cli, line[1:]
        with click.Context(cli) as ctx:
            while isinstance(group, click.Group):
                name, group, args = group.resolve_command(ctx, args)
            group.make_context(name, list(args))  # raises on an unknown command or option


def test_settings_set_by_the_deployment_are_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    env_example = (ROOT / "deploy" / "gate.env.example").read_text(encoding="utf-8")
    named = set(re.findall(r"\b(GATE_[A-Z0-9_]+)\b", DOCKERFILE + COMPOSE + env_example))
    assert named, "no settings found"
    undocumented = sorted(n for n in named if f"`{n}`" not in readme)
    assert not undocumented, undocumented


@pytest.mark.parametrize("needle", ["USER gate", "HEALTHCHECK", "/healthz", "FROM ${BASE} AS build",
                                    "COPY --from=build /opt/gate /opt/gate"])
def test_image_runs_unprivileged_with_a_health_check_from_a_build_stage(needle):
    assert needle in DOCKERFILE
