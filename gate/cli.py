"""The ``gate`` command.

Subcommands live in ``gate.commands.*`` and are imported only when they run, so ``gate --help`` stays fast: it
loads click and nothing heavy (no cryptography, flask or sqlalchemy). This module is the only place that turns
errors into exit statuses.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import NoReturn

import click

from gate import __version__

# Exit statuses (README "Command line"; a contract): 0 all allowed, 1 the gate itself failed, 2 usage error; a
# verdict's status (3 worst verdict review, 4 worst verdict block) is gate.commands.check.VERDICT_EXIT.
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

# name -> ("module:attribute", one-line help shown by ``gate --help`` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "features": ("gate.commands.features:features", "Print the facts of each package (identity, signers, network)."),
    "sandbox": ("gate.commands.sandbox:sandbox", "Run rehearsal servers (the regulator sandbox)."),
    "filings": ("gate.commands.filings:filings", "Import filings files (JSON, JSONL, CSV, XLSX); show filings."),
    "check": ("gate.commands.check:check", "Decide allow/review/block for packages against their filings."),
    "db": ("gate.commands.db:db", "Database schema migrations (gate db upgrade)."),
    "serve": ("gate.commands.serve:serve", "Serve the HTTP API (webhooks, preinstall, pre-check) with gunicorn."),
    "worker": ("gate.commands.worker:worker", "Process queued checks and deliver store callbacks."),
    "clients": ("gate.commands.clients:clients", "Create API clients (store, oem, developer, admin)."),
    "preinstall": ("gate.commands.preinstall:preinstall", "Check the APKs of a system image or a preinstall list."),
    "demo": ("gate.commands.demo:demo", "Migrate, then seed the demo filing, clients and console user (idempotent)."),
    "report": ("gate.commands.report:report", "Build and send distribution reports to the regulator; status."),
    "sync": ("gate.commands.sync:sync", "Pull filing changes from the regulator; re-evaluate listed apps."),
    "scheduler": ("gate.commands.scheduler:scheduler", "Run the scheduled sync jobs (filings, report, purge)."),
    "cert": ("gate.commands.cert:cert", "Filing values (公钥, 签名MD5, SHA-1) from a certificate, keystore or profile."),
    "exemptions": ("gate.commands.exemptions:exemptions", "Exemptions (豁免) for preinstalled platform components."),
    "users": ("gate.commands.users:users", "Staff users of the console (viewer, reviewer, admin)."),
    "miniprogram": ("gate.commands.miniprogram:miniprogram", "Decide on mini-program declarations (AppID, domains)."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        if ctx.resilient_parsing or "--help" in sys.argv[1:2]:
            return click.Command(cmd_name, help=target[1], short_help=target[1])
        module_name, attr = target[0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup)
# The version from gate/__init__.py (pyproject.toml reads it there too): click's package_name look-up imports
# importlib.metadata and scans the installed distributions, ~10-40 ms of every `gate --version`.
@click.version_option(version=__version__, prog_name="gate")
def cli() -> None:
    """The filing gate: checks app packages against their APP备案 filings."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and map gate errors to exit statuses; no traceback reaches the user."""
    from gate.errors import GateError, UsageError

    try:
        scanner_core = os.environ.get("GATE_SCANNER_CORE", "").strip().lower()
        if scanner_core:  # "python": the network scanner's pure-Python path, the oracle of its compiled core
            from gate.extract.network import core

            core.select(scanner_core)
        rv = cli.main(args=argv, prog_name="gate", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        return EXIT_FAILURE
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except UsageError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        return EXIT_USAGE
    except GateError as exc:
        click.echo(f"error [{exc.code}]: {exc.message}", err=True)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the top level: a bug must still end with a message and status 1, not a traceback
        click.echo(f"error [internal_error]: {type(exc).__name__}: {exc} "
                   "(this is a bug in the gate; please report it with the command you ran)", err=True)
        return EXIT_FAILURE
    return rv if isinstance(rv, int) else EXIT_OK


def run() -> NoReturn:
    """The ``gate`` command (the console script): ``main()``, then exit with its status.

    Before the interpreter finalizes, every object still alive moves to the permanent generation (``gc.freeze``):
    the collections of the interpreter's shutdown then skip the tens of thousands of objects the imports made (the
    modules, classes and tables a command loads live to the end anyway), about 4 % of the instructions of a
    ``gate features`` process on a small package (docs/benchmarks.md). Files are closed by ``with`` blocks and the
    standard streams are flushed by the interpreter as before; only cyclic garbage left at exit goes uncollected,
    which the process's end frees all the same. Not in ``main()``: tests call it in process, many times.
    """
    status = main()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    run()
