"""``gate sandbox regulator``: run the sandbox regulator (a rehearsal server for the regulator protocol)."""

from __future__ import annotations

import signal

import click


@click.group("sandbox")
def sandbox() -> None:
    """Run rehearsal servers (the regulator sandbox)."""


@sandbox.command("regulator")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on; 0 picks a free one (the URL printed says which).")
@click.option("--secret", envvar="GATE_REGULATOR_SECRET", default=None,
              help="Shared secret for X-Signature (default: $GATE_REGULATOR_SECRET, else 'sandbox-secret').")
@click.option("--fail-first", default=0, type=click.IntRange(0), help="Answer the first N report POSTs with 503.")
@click.option("--retry-after", default=1, show_default=True, type=click.IntRange(0),
              help="Seconds announced in Retry-After with each injected 503.")
@click.option("--latency", default=0.0, type=click.FloatRange(0), help="Seconds to sleep before each API answer.")
@click.option("--drop-connections", default=0, type=click.IntRange(0),
              help="Close the connection of the first N API requests without answering.")
@click.option("--feed", "feed_path", type=click.Path(exists=True, dir_okay=False),
              help="Filing records to serve (JSON array or JSON Lines); seeds an empty feed.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False),
              help="SQLite file keeping the feed and received reports (default: a temporary file).")
@click.option("--application-outcomes", default="approved", show_default=True,
              help="Comma-separated outcome of each round of a filing application (approved, returned, rejected); "
                   "the last repeats. E.g. returned,approved: one correction round, then approval.")
@click.option("--application-delay", default=0.0, type=click.FloatRange(0),
              help="Seconds an application round stays 'submitted' before its outcome shows.")
def regulator(host: str, port: int, secret: str | None, fail_first: int, retry_after: int, latency: float,
              drop_connections: int, feed_path: str | None, db_path: str | None, application_outcomes: str,
              application_delay: float) -> int:
    """Serve the regulator's side of the protocol until SIGTERM or Ctrl-C.

    Prints the URL it listens on first (one line on stdout), then logs requests on stderr. Inspect what arrived
    at /_sandbox/ (HTML) or /_sandbox/reports (JSON).
    """
    from gate.sync.sandbox.applications import ApplicationScript
    from gate.sync.sandbox.faults import FaultPlan
    from gate.sync.sandbox.feed import FeedError
    from gate.sync.sandbox.server import DEFAULT_SECRET, SandboxConfig, SandboxServer

    try:
        script = ApplicationScript(tuple(o.strip() for o in application_outcomes.split(",") if o.strip()),
                                   application_delay)
    except ValueError as exc:
        raise click.UsageError(f"--application-outcomes: {exc}") from None
    if secret is None:
        click.echo(f"note: no --secret or GATE_REGULATOR_SECRET; using the well-known {DEFAULT_SECRET!r}", err=True)
    config = SandboxConfig(host=host, port=port, secret=secret or DEFAULT_SECRET, db_path=db_path,
                           feed_path=feed_path,
                           faults=FaultPlan(fail_first=fail_first, drop_connections=drop_connections,
                                            latency=latency, retry_after=retry_after),
                           applications=script)
    try:
        server = SandboxServer(config)
    except FeedError as exc:
        raise click.UsageError(exc.message) from None
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from None

    def _stop(signum, frame):  # SIGTERM ends the server like Ctrl-C does
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    click.echo(server.url, nl=True)
    click.echo(f"sandbox regulator at {server.url} (db {server.store.path}, feed {server.store.feed_size()} "
               f"records) — Ctrl-C to stop", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0
