"""The image's HEALTHCHECK, per role: one image runs `gate serve`, `gate worker`, `gate scheduler` and one-shot
commands, and each is healthy for a different reason.

- `gate serve`: ``GET /healthz`` on its own port answers 200 (that makes a database round trip);
- `gate worker`, `gate scheduler`: the database is reachable and at this gate's schema (their work is all in it);
- anything else (a one-shot command): healthy while it runs.

The role is read from the container's main process (PID 1), so the same HEALTHCHECK line fits every container and
compose needs no per-service override. Exit 0 healthy, 1 unhealthy, with one line saying why.
"""

from __future__ import annotations

import os
import sys
import urllib.request

ROLES = ("serve", "worker", "scheduler")


def role(cmdline: bytes) -> str | None:
    """The gate subcommand PID 1 runs (through ``sh -c '… exec gate serve …'`` too), or None."""
    words = cmdline.replace(b"\0", b" ").decode("utf-8", "replace").split()
    for i, word in enumerate(words):
        if os.path.basename(word) == "gate" or word == "gate.cli":
            for later in words[i + 1:]:
                if later in ROLES:
                    return later
    return None


def main() -> int:
    with open("/proc/1/cmdline", "rb") as handle:
        running = role(handle.read())
    try:
        if running == "serve":
            port = os.environ.get("PORT", "8000")
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as answer:
                answer.read()
        elif running in ("worker", "scheduler"):
            from gate.config import load_settings
            from gate.db.engine import open_database

            open_database(load_settings().database_url).dispose()
    except Exception as exc:  # any failure is "unhealthy", said in one line for `podman healthcheck run`/`docker inspect`
        print(f"unhealthy ({running or 'command'}): {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(f"healthy ({running or 'command'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
