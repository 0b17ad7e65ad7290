"""Settings: the only module that reads the environment (``GATE_*`` variables).

Everything else takes what it needs as keyword arguments. Every setting has a safe default: the gate fails closed
when nothing is configured. Policy knobs may make the optional review steps stricter (``block``) or switch them off;
the identity steps (signature, filing, key) are not settings at all, so no environment can turn the gate into a
rubber stamp.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gate.errors import ConfigError
from gate.extract.trust import NO_EXTRA_ROOTS, TrustRoots
from gate.policy import FRACTION, POLICY_SETTINGS, Policy
from gate.records import record

DEFAULT_DATABASE_URL = "sqlite:///gate.db"  # a file in the working directory
DEFAULT_POLICY = Policy()


@record
class Settings:
    """All GATE_* settings, parsed and validated once."""

    database_url: str = DEFAULT_DATABASE_URL
    # The decision policy (GATE_POLICY_*), parsed by the settings table in gate.policy.
    policy: Policy = DEFAULT_POLICY
    # --- HTTP service (gate serve / gate worker) ---
    port: int = 8000  # GATE_PORT: where `gate serve` listens without --port (and the URL `gate demo` prints)
    max_upload_bytes: int = 512 * 1024 * 1024  # GATE_MAX_UPLOAD_BYTES: largest package accepted (413 above)
    sync_threshold_bytes: int = 32 * 1024 * 1024  # GATE_SYNC_THRESHOLD_BYTES: larger uploads are queued (202)
    spool_dir: str | None = None  # GATE_SPOOL_DIR: where uploads wait for the worker (default: system temp dir)
    spool_orphan_seconds: float = 600.0  # GATE_SPOOL_ORPHAN_SECONDS: unused spool files older than this are swept
    fetch_allow_http: bool = False  # GATE_FETCH_ALLOW_HTTP: allow http:// package_url (never in production)
    fetch_allow_networks: str = ""  # GATE_FETCH_ALLOW_NETWORKS: CIDRs exempt from the SSRF address check
    callback_max_attempts: int = 8  # GATE_CALLBACK_MAX_ATTEMPTS: deliveries before a callback is given up
    callback_backoff_seconds: float = 30.0  # GATE_CALLBACK_BACKOFF_SECONDS: first retry delay, doubled each time
    callback_timeout_seconds: float = 10.0  # GATE_CALLBACK_TIMEOUT_SECONDS: per delivery attempt
    callback_concurrency: int = 4  # GATE_CALLBACK_CONCURRENCY: callbacks a worker delivers side by side
    fetch_deadline_seconds: float = 300.0  # GATE_FETCH_DEADLINE_SECONDS: a package_url download's whole time
    fetch_min_bytes_per_second: int = 16384  # GATE_FETCH_MIN_BYTES_PER_SECOND: slower downloads are dropped
    job_lease_seconds: int = 120  # GATE_JOB_LEASE_SECONDS: a job whose worker stops heartbeating is retaken
    body_grace_seconds: float = 30.0  # GATE_BODY_GRACE_SECONDS: a request body may start slowly for this long ...
    body_min_bytes_per_second: int = 1024  # GATE_BODY_MIN_BYTES_PER_SECOND: ... then keep this average (else 408)
    log_format: str = "json"  # GATE_LOG_FORMAT: json | text
    precheck_page: str = "open"  # GATE_PRECHECK_PAGE: open (anyone may use the upload page) | off
    rate_limit_storage: str = "memory://"  # GATE_RATE_LIMIT_STORAGE: memory:// (per process) | redis://host:port
    rate_limit_client: str = "1200/minute"  # GATE_RATE_LIMIT_CLIENT: requests per API key
    rate_limit_address: str = "300/minute"  # GATE_RATE_LIMIT_ADDRESS: requests without a key, per address
    rate_limit_upload: str = "20/minute"  # GATE_RATE_LIMIT_UPLOAD: anonymous uploads and sign-ins, per address
    proxy_hops: int = 0  # GATE_PROXY_HOPS: trusted reverse proxies setting X-Forwarded-For/-Proto in front
    metrics_token: str | None = None  # GATE_METRICS_TOKEN: Bearer token for /metrics (unset: loopback only)
    console_secret: str | None = None  # GATE_CONSOLE_SECRET: signs the sign-in form's CSRF token (gate.web.kit)
    serve_threads: int = 0  # GATE_SERVE_THREADS: request threads per process (set by `gate serve`; 0: unknown)
    # --- regulator sync (gate report / gate sync / gate scheduler) ---
    regulator_url: str | None = None  # GATE_REGULATOR_URL: base URL of the regulator (or the sandbox)
    platform_id: str | None = None  # GATE_PLATFORM_ID: our identity at the regulator (X-Platform-Id)
    regulator_secret: str | None = None  # GATE_REGULATOR_SECRET: HMAC key for what we send
    report_time: str = "02:00"  # GATE_REPORT_TIME: HH:MM Asia/Shanghai; daily report periods end at this time
    sync_interval_minutes: float = 15  # GATE_SYNC_INTERVAL_MINUTES: filings feed polling + pending report retry
    audit_retention_days: int = 365  # GATE_AUDIT_RETENTION_DAYS: audit events older than this are purged (>= 60)
    pii_key: str | None = None  # GATE_PII_KEY: base64 AES-256 key sealing personal data of filing applications
    scheduler_in_server: bool = False  # GATE_SCHEDULER_IN_SERVER: `gate serve` also runs the scheduled jobs
    # GATE_TRUST_ROOTS_HARMONY / GATE_TRUST_ROOTS_IOS: extra roots per platform (gate.extract.trust), comma-separated
    # certificate files or SHA-256 fingerprints; none: HarmonyOS never trusted, IPAs only under Apple Root CA.
    trust_roots: TrustRoots = NO_EXTRA_ROOTS

    def __init__(self, database_url: str = DEFAULT_DATABASE_URL, policy: Policy = DEFAULT_POLICY, port: int = 8000,
                 max_upload_bytes: int = 512 * 1024 * 1024, sync_threshold_bytes: int = 32 * 1024 * 1024,
                 spool_dir: str | None = None, spool_orphan_seconds: float = 600.0, fetch_allow_http: bool = False,
                 fetch_allow_networks: str = "", callback_max_attempts: int = 8,
                 callback_backoff_seconds: float = 30.0, callback_timeout_seconds: float = 10.0,
                 callback_concurrency: int = 4, fetch_deadline_seconds: float = 300.0,
                 fetch_min_bytes_per_second: int = 16384, job_lease_seconds: int = 120,
                 body_grace_seconds: float = 30.0, body_min_bytes_per_second: int = 1024, log_format: str = "json",
                 precheck_page: str = "open", rate_limit_storage: str = "memory://",
                 rate_limit_client: str = "1200/minute", rate_limit_address: str = "300/minute",
                 rate_limit_upload: str = "20/minute", proxy_hops: int = 0, metrics_token: str | None = None,
                 console_secret: str | None = None, serve_threads: int = 0, regulator_url: str | None = None,
                 platform_id: str | None = None, regulator_secret: str | None = None, report_time: str = "02:00",
                 sync_interval_minutes: float = 15, audit_retention_days: int = 365, pii_key: str | None = None,
                 scheduler_in_server: bool = False, trust_roots: TrustRoots = NO_EXTRA_ROOTS) -> None:
        object.__setattr__(self, "__dict__", {
            "database_url": database_url, "policy": policy, "port": port, "max_upload_bytes": max_upload_bytes,
            "sync_threshold_bytes": sync_threshold_bytes, "spool_dir": spool_dir,
            "spool_orphan_seconds": spool_orphan_seconds, "fetch_allow_http": fetch_allow_http,
            "fetch_allow_networks": fetch_allow_networks, "callback_max_attempts": callback_max_attempts,
            "callback_backoff_seconds": callback_backoff_seconds, "callback_timeout_seconds": callback_timeout_seconds,
            "callback_concurrency": callback_concurrency, "fetch_deadline_seconds": fetch_deadline_seconds,
            "fetch_min_bytes_per_second": fetch_min_bytes_per_second, "job_lease_seconds": job_lease_seconds,
            "body_grace_seconds": body_grace_seconds, "body_min_bytes_per_second": body_min_bytes_per_second,
            "log_format": log_format, "precheck_page": precheck_page, "rate_limit_storage": rate_limit_storage,
            "rate_limit_client": rate_limit_client, "rate_limit_address": rate_limit_address,
            "rate_limit_upload": rate_limit_upload, "proxy_hops": proxy_hops, "metrics_token": metrics_token,
            "console_secret": console_secret, "serve_threads": serve_threads, "regulator_url": regulator_url,
            "platform_id": platform_id, "regulator_secret": regulator_secret, "report_time": report_time,
            "sync_interval_minutes": sync_interval_minutes, "audit_retention_days": audit_retention_days,
            "pii_key": pii_key, "scheduler_in_server": scheduler_in_server, "trust_roots": trust_roots
        })

    def decision_policy(self) -> Policy:
        """The decision engine's Policy for these settings."""
        return self.policy


def _choice(environ: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = environ.get(name, "").strip().lower() or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(allowed)}", code="config_invalid")
    return value


def _fraction(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number between 0 and 1", code="config_invalid") from None
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name}={raw!r} is not a number between 0 and 1", code="config_invalid")
    return value


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read and validate the GATE_* variables; a malformed value raises ConfigError naming the variable."""
    return Settings(
        database_url=environ.get("GATE_DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        policy=_policy(environ),
        **_service_settings(environ),
        **_sync_settings(environ),
        trust_roots=_trust_roots(environ),
    )


def _policy(environ: Mapping[str, str]) -> Policy:
    """The GATE_POLICY_* variables, one per row of the settings table (gate.policy.POLICY_SETTINGS)."""
    values: dict[str, Any] = {}  # each value of its row's type
    for row in POLICY_SETTINGS:
        if row.kind == FRACTION:
            values[row.name] = _fraction(environ, row.variable, float(row.default))
        else:
            values[row.name] = _choice(environ, row.variable, str(row.default), row.choices)
    return Policy(**values)


TRUST_ROOT_VARIABLES = {"harmony": "GATE_TRUST_ROOTS_HARMONY", "ios": "GATE_TRUST_ROOTS_IOS"}


def _trust_roots(environ: Mapping[str, str]) -> TrustRoots:
    """The operator's extra roots, read now: an unreadable file or a malformed fingerprint stops the gate at start
    (naming the variable), never at the first package it would have trusted."""
    from gate.extract.trust import (
        TrustRootError,
        certificates_in,
        normalise_fingerprint,
        root_from_certificate,
        root_from_fingerprint,
    )

    roots = []
    for platform, name in TRUST_ROOT_VARIABLES.items():
        for item in (part.strip() for part in environ.get(name, "").split(",")):
            if not item:
                continue
            try:
                if normalise_fingerprint(item) is not None:
                    roots.append(root_from_fingerprint(platform, item))
                    continue
                try:
                    with open(item, "rb") as handle:
                        data = handle.read()
                except OSError as exc:
                    raise TrustRootError(f"{item} cannot be read ({exc.strerror}) and is no SHA-256 "
                                         "fingerprint") from None
                roots += [root_from_certificate(platform, der, os.path.basename(item))
                          for der in certificates_in(data, item)]
            except TrustRootError as exc:
                raise ConfigError(f"{name}: {exc}", code="config_invalid") from None
    return TrustRoots(tuple(roots))


def _number(environ: Mapping[str, str], name: str, default, kind=int, minimum=0):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number", code="config_invalid") from None
    if value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}", code="config_invalid")
    return value


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw not in ("", "0", "1", "true", "false", "yes", "no"):
        raise ConfigError(f"{name}={raw!r} is not a boolean (1/0, true/false)", code="config_invalid")
    return raw in ("1", "true", "yes")


def _service_settings(environ: Mapping[str, str]) -> dict:
    """The HTTP service's settings (gate serve / gate worker)."""
    return dict(
        port=_number(environ, "GATE_PORT", Settings.port, minimum=1),
        max_upload_bytes=_number(environ, "GATE_MAX_UPLOAD_BYTES", Settings.max_upload_bytes, minimum=1),
        sync_threshold_bytes=_number(environ, "GATE_SYNC_THRESHOLD_BYTES", Settings.sync_threshold_bytes),
        spool_dir=environ.get("GATE_SPOOL_DIR", "").strip() or None,
        spool_orphan_seconds=_number(environ, "GATE_SPOOL_ORPHAN_SECONDS", Settings.spool_orphan_seconds,
                                     kind=float),
        fetch_allow_http=_flag(environ, "GATE_FETCH_ALLOW_HTTP"),
        fetch_allow_networks=environ.get("GATE_FETCH_ALLOW_NETWORKS", "").strip(),
        callback_max_attempts=_number(environ, "GATE_CALLBACK_MAX_ATTEMPTS", Settings.callback_max_attempts,
                                      minimum=1),
        callback_backoff_seconds=_number(environ, "GATE_CALLBACK_BACKOFF_SECONDS",
                                         Settings.callback_backoff_seconds, kind=float),
        callback_timeout_seconds=_number(environ, "GATE_CALLBACK_TIMEOUT_SECONDS",
                                         Settings.callback_timeout_seconds, kind=float, minimum=0.1),
        callback_concurrency=_number(environ, "GATE_CALLBACK_CONCURRENCY", Settings.callback_concurrency,
                                     minimum=1),
        fetch_deadline_seconds=_number(environ, "GATE_FETCH_DEADLINE_SECONDS", Settings.fetch_deadline_seconds,
                                       kind=float, minimum=1),
        fetch_min_bytes_per_second=_number(environ, "GATE_FETCH_MIN_BYTES_PER_SECOND",
                                           Settings.fetch_min_bytes_per_second),
        job_lease_seconds=_number(environ, "GATE_JOB_LEASE_SECONDS", Settings.job_lease_seconds, minimum=5),
        log_format=_choice(environ, "GATE_LOG_FORMAT", "json", ("json", "text")),
        precheck_page=_choice(environ, "GATE_PRECHECK_PAGE", "open", ("open", "off")),
        rate_limit_storage=environ.get("GATE_RATE_LIMIT_STORAGE", "").strip() or Settings.rate_limit_storage,
        rate_limit_client=environ.get("GATE_RATE_LIMIT_CLIENT", "").strip() or Settings.rate_limit_client,
        rate_limit_address=environ.get("GATE_RATE_LIMIT_ADDRESS", "").strip() or Settings.rate_limit_address,
        rate_limit_upload=environ.get("GATE_RATE_LIMIT_UPLOAD", "").strip() or Settings.rate_limit_upload,
        proxy_hops=_number(environ, "GATE_PROXY_HOPS", Settings.proxy_hops),
        metrics_token=environ.get("GATE_METRICS_TOKEN", "").strip() or None,
        console_secret=environ.get("GATE_CONSOLE_SECRET", "").strip() or None,
        body_grace_seconds=_number(environ, "GATE_BODY_GRACE_SECONDS", Settings.body_grace_seconds, kind=float),
        body_min_bytes_per_second=_number(environ, "GATE_BODY_MIN_BYTES_PER_SECOND",
                                          Settings.body_min_bytes_per_second, minimum=1),
        serve_threads=_number(environ, "GATE_SERVE_THREADS", Settings.serve_threads),
    )


# Audit events must outlive the period a regulator may ask about; below this the purge would destroy evidence.
MIN_AUDIT_RETENTION_DAYS = 60


def _report_time(environ: Mapping[str, str]) -> str:
    raw = environ.get("GATE_REPORT_TIME", "").strip() or Settings.report_time
    hours, _, minutes = raw.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24 and int(minutes) < 60 and len(minutes) == 2):
        raise ConfigError(f"GATE_REPORT_TIME={raw!r} is not HH:MM (Asia/Shanghai), e.g. 02:00", code="config_invalid")
    return f"{int(hours):02d}:{minutes}"


def _sync_settings(environ: Mapping[str, str]) -> dict:
    """The regulator sync's settings (gate report / gate sync / gate scheduler)."""
    return dict(
        regulator_url=environ.get("GATE_REGULATOR_URL", "").strip() or None,
        platform_id=environ.get("GATE_PLATFORM_ID", "").strip() or None,
        regulator_secret=environ.get("GATE_REGULATOR_SECRET", "") or None,
        report_time=_report_time(environ),
        sync_interval_minutes=_number(environ, "GATE_SYNC_INTERVAL_MINUTES", Settings.sync_interval_minutes,
                                      kind=float, minimum=0.05),
        audit_retention_days=_number(environ, "GATE_AUDIT_RETENTION_DAYS", Settings.audit_retention_days,
                                     minimum=MIN_AUDIT_RETENTION_DAYS),
        scheduler_in_server=_flag(environ, "GATE_SCHEDULER_IN_SERVER"),
        pii_key=_pii_key(environ),
    )


def _pii_key(environ: Mapping[str, str]) -> str | None:
    """GATE_PII_KEY, checked now so a malformed key stops the gate at start, not at the first application."""
    value = environ.get("GATE_PII_KEY", "").strip() or None
    if value is not None:
        from gate.pii import parse_key  # only then: every command loads the settings (start-up, issue #28)

        parse_key(value)
    return value
