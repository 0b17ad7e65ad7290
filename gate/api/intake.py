"""Receiving a package over HTTP and answering its check — shared by the store webhook and the developer API.

Order matters: credentials first (no body read), then the signature header (401 before reading when it is missing,
malformed or stale), then the body streams into a spool while it is hashed and HMAC'd, then the HMAC is compared —
and only then is anything looked up, decided or stored.

A ``package_url`` is never downloaded by the request: its URL passes the address rules at once (a refused URL is
answered 400 straight away), and the check is queued (202) under the ``check_id`` of the announced SHA-256; the worker
downloads, verifies the digest and decides (gate.services.worker). A slow or stalling CDN then holds a
worker's download, never a request thread. A package the gate already decided is answered at once (200).
"""

from __future__ import annotations

from dataclasses import dataclass

import flask

from gate.api.body import (
    UnpackedPart,
    discard_spools,
    gate_request,
    parse_metadata,
    read_json,
    read_multipart_upload,
    start_signature_check,
)
from gate.services import checks, metrics
from gate.services.auth import Client
from gate.services.decisions import CheckRequest
from gate.services.uploads import SpooledPackage, UploadError
from gate.text import clean_filename


@dataclass(frozen=True)
class PackageReference:
    """A package the store announced by URL and SHA-256: downloaded later, by the worker."""

    url: str
    sha256: str
    size: int = 0  # unknown until downloaded
    path: str | None = None

    def discard(self) -> None:
        pass


def _is_multipart() -> bool:
    return flask.request.mimetype == "multipart/form-data"


def receive_package(client: Client, *, signed: bool,
                    allow_url: bool) -> tuple[SpooledPackage | PackageReference, str, dict, UnpackedPart | None]:
    """(spooled package or URL reference, filename, metadata, the spooled ``unpacked`` part or None) of an
    authenticated request, or an error with nothing kept. Only a multipart upload carries an unpacked build."""
    request = gate_request()
    verifier = start_signature_check(request, client.webhook_secret) if signed else None
    if _is_multipart():
        spooled, filename, metadata, unpacked = read_multipart_upload(request)
        try:
            while request.stream.read(1 << 16):  # an epilogue after the last boundary is signed too
                pass
            if verifier is not None:
                verifier.verify()
        except BaseException:
            spooled.discard()
            if unpacked is not None:
                unpacked.discard()
            raise
        return spooled, filename, metadata, unpacked
    if not allow_url:
        raise UploadError("send the package as multipart/form-data with a `package` file part",
                          code="content_type_unsupported", status=415)
    if request.mimetype != "application/json":
        raise UploadError("send multipart/form-data with a `package` part, or JSON with package_url and sha256",
                          code="content_type_unsupported", status=415)
    body = read_json(request)
    if verifier is not None:
        verifier.verify()
    if not isinstance(body, dict) or not isinstance(body.get("package_url"), str) \
            or not isinstance(body.get("sha256"), str):
        raise UploadError("the JSON body needs `package_url` and `sha256` strings", code="body_invalid")
    metadata = parse_metadata(body.get("metadata"))
    from gate.services.fetch import check_url, expected_digest

    gate = flask.current_app.extensions["gate"]
    sha256 = expected_digest(body["sha256"])
    check_url(body["package_url"], gate.fetch_policy())  # refused now, not after a queue; checked again on download
    filename = clean_filename(body["package_url"].split("?", 1)[0].rstrip("/"))
    return PackageReference(body["package_url"], sha256), filename, metadata, None


def check_callback_url(url: str | None) -> None:
    """A callback URL is POSTed to by the gate, so it passes the same SSRF rules as package_url (its own code)."""
    if url is None:
        return
    from gate.services import fetch

    fetch.check_callback_url(url, flask.current_app.extensions["gate"].fetch_policy())


def answer_check(client: Client, spooled: SpooledPackage | PackageReference, filename: str, metadata: dict, *,
                 force_async: bool, actor: str, unpacked: UnpackedPart | None = None) -> tuple[dict, int]:
    """Decide now (200) or queue (202); the same upload always answers under the same check_id. A package_url is
    always queued (module docstring). With an ``unpacked`` build the pair is checked (gate.pairing), and queued
    when the two together pass the synchronous threshold; both spools go to the job."""
    gate = flask.current_app.extensions["gate"]
    request = CheckRequest.declared(metadata, source=actor)
    size = spooled.size + (unpacked.spooled.size if unpacked is not None else 0)
    metrics.UPLOAD_BYTES.inc(size)  # a package_url's bytes are counted by the worker's process
    check_id = checks.derive_check_id(client.id, spooled.sha256, request,
                                      unpacked_sha256=unpacked.spooled.sha256 if unpacked is not None else None)
    keep = False
    try:
        with gate.engine.connect() as conn:
            row = checks.existing(conn, check_id)
        if row is not None and row.status == "done":
            def reread():  # facts stored by an older gate are read again from this upload (its spool is at hand)
                return checks.extract(spooled.path, filename, trust=gate.settings.trust_roots,
                                      unpacked=_unpacked_payload(unpacked))

            # A package_url is not at hand (it is not downloaded to be decided again): old facts say so instead.
            outcome = checks.redecide(gate.engine, row, policy=gate.policy, actor=actor,
                                      reread=None if isinstance(spooled, PackageReference) else reread)
            answer = outcome.as_dict()
            metrics.observe_decision(answer)
            return answer, 200
        if row is not None and row.status in ("queued", "running"):
            return {"check_id": check_id, "status": row.status, "status_url": _status_url(check_id)}, 202
        if force_async or isinstance(spooled, PackageReference) or size > gate.settings.sync_threshold_bytes:
            callback_url = request.callback_url or client.callback_url
            check_callback_url(callback_url)
            queued, keep = checks.enqueue(gate.engine, check_id=check_id, client_id=client.id, path=spooled.path,
                                          size=spooled.size, sha256=spooled.sha256, filename=filename,
                                          request=request, callback_url=callback_url,
                                          package_url=spooled.url if isinstance(spooled, PackageReference) else None,
                                          unpacked=_unpacked_payload(unpacked))
            # keep: the job owns the spool and the worker deletes it; otherwise a racing request's job has its own
            return {"check_id": check_id, "status": queued.status, "status_url": _status_url(check_id)}, 202
        outcome = checks.check_now(gate.engine, check_id=check_id, client_id=client.id, path=spooled.path,
                                   size=spooled.size, sha256=spooled.sha256, filename=filename, request=request,
                                   policy=gate.policy, trust=gate.settings.trust_roots,
                                   unpacked=_unpacked_payload(unpacked))
        answer = outcome.as_dict()
        metrics.observe_decision(answer)
        return answer, 200
    finally:
        if not keep:
            spooled.discard()
            if unpacked is not None:
                unpacked.discard()
        discard_spools(gate_request())


def _status_url(check_id: str) -> str:
    """Where a queued check is polled: built for the 202 answers only (a decided check's answer has no link)."""
    return flask.url_for("developer.get_check", check_id=check_id)


def _unpacked_payload(unpacked: UnpackedPart | None) -> dict | None:
    """What a job (or check_now) needs of the unpacked part: its spool, the name it was uploaded as, its digest."""
    if unpacked is None:
        return None
    return {"path": unpacked.spooled.path, "filename": unpacked.filename, "sha256": unpacked.spooled.sha256}


def check_upload(client: Client, *, signed: bool, allow_url: bool) -> tuple[flask.Response, int]:
    """The whole upload route for a store webhook (signed, package_url allowed) or a developer pre-check."""
    spooled, filename, metadata, unpacked = receive_package(client, signed=signed, allow_url=allow_url)
    force_async = flask.request.args.get("async", "") in ("1", "true", "yes")
    body, status = answer_check(client, spooled, filename, metadata, force_async=force_async,
                                actor=f"client:{client.name}", unpacked=unpacked)
    return flask.jsonify(body), status
