"""Developers (开发者): the pre-check API and the upload page showing what to copy into the filing form."""

from __future__ import annotations

import flask

from gate.api.access import client_for
from gate.api.body import read_form, read_multipart_upload
from gate.api.intake import check_upload
from gate.api.service import service
from gate.services import checks, metrics, precheck_results
from gate.services.uploads import UploadError

blueprint = flask.Blueprint("developer", __name__)


@blueprint.post("/api/v1/checks")
def create_check():
    return check_upload(client_for("developer"), signed=False, allow_url=False)


@blueprint.get("/api/v1/checks/<check_id>")
def get_check(check_id: str):
    # Stores poll the status_url of their queued uploads here too; a client sees only its own checks.
    client = client_for("developer", "store")
    with service().engine.connect() as conn:
        row, answer = checks.load_outcome(conn, check_id)
    if client.role != "admin" and row.client_id != client.id:
        raise checks.CheckNotFound(f"no check {check_id}")  # 404, not 403: ids of others are not confirmed
    return flask.jsonify(answer)


# --- the page -----------------------------------------------------------------------------------------------

def _lang() -> str:
    return "en" if flask.request.args.get("lang") == "en" else "zh"


def _page_open() -> None:
    if service().settings.precheck_page != "open":
        flask.abort(404)


def _page(*, facts=None, decision=None, error=None, status: int | None = None, **extra):
    """The page in its language; a refused upload is shown on it (with the refusal's status), never as JSON.

    ``error`` is an UploadError (its code picks the Chinese text in the template) or a {"code", "message"} dict
    already in the page's language."""
    from gate import names
    from gate.beijing_time import beijing, beijing_iso

    lang = _lang()
    extra.setdefault("hosts", (extra.get("to_file") or {}).get("hosts"))
    html = flask.render_template("precheck.html", lang=lang, facts=facts, decision=decision, error=error,
                                 max_upload_bytes=service().settings.max_upload_bytes,
                                 reason_name=lambda code: names.name(names.REASONS, code, lang),
                                 named=lambda table, code: names.name(getattr(names, table), code, lang),
                                 beijing=beijing, beijing_iso=beijing_iso, **extra)
    status = status or getattr(error, "status", None) or (400 if error is not None else 200)
    retry_after = getattr(error, "retry_after", None)  # a full spool: the page says so, and when to retry
    return html, status, ({"Retry-After": str(retry_after)} if retry_after else {})


def rate_limited_page(exc):
    """The page's answer when the caller's address used up its budget (gate.api.limits)."""
    return _page(error=exc, status=429)


@blueprint.get("/")
@blueprint.get("/precheck")
def precheck_page():
    _page_open()
    return _page()


@blueprint.post("/precheck")
def precheck_submit():
    _page_open()
    try:
        spooled, filename, _, unpacked = read_multipart_upload(flask.request)
    except UploadError as exc:  # too large, not multipart, no file chosen, empty file
        return _page(error=exc)
    try:
        metrics.UPLOAD_BYTES.inc(spooled.size + (unpacked.spooled.size if unpacked is not None else 0))
        # An unpacked build beside a packed (加固) package: both spooled, paired, its network facts decide.
        facts, decision = checks.check_unregistered(
            service().engine, path=spooled.path, filename=filename, policy=service().policy, actor="precheck-page",
            trust=service().settings.trust_roots,
            unpacked={"path": unpacked.spooled.path, "filename": unpacked.filename} if unpacked else None)
    finally:
        spooled.discard()
        if unpacked is not None:
            unpacked.discard()
    metrics.observe_decision(decision)
    # Kept for a permanent, private, expiring URL (gate.services.precheck_results): a reload or a later
    # visit from this browser shows the same result. The page shows it at once and swaps its URL for that one.
    owner = precheck_results.valid_owner(flask.request.cookies.get(precheck_results.OWNER_COOKIE))
    owner = owner or precheck_results.new_owner()
    token, expires = precheck_results.keep(service().engine, owner=owner, filename=filename, facts=facts,
                                           decision=decision)
    html, status, headers = _page(facts=facts, decision=decision, filename=filename, expires=expires,
                                  permalink=flask.url_for("developer.precheck_result", token=token,
                                                          lang=None if _lang() == "zh" else "en"),
                                  to_file=precheck_results.to_file(service().engine, facts, decision))
    response = flask.make_response(html, status, headers)
    response.set_cookie(precheck_results.OWNER_COOKIE, owner, max_age=precheck_results.KEEP_DAYS * 86400,
                        path="/precheck", httponly=True, samesite="Lax", secure=flask.request.scheme == "https")
    return response


@blueprint.get("/precheck/r/<token>")
def precheck_result(token: str):
    """A kept result: only for the browser that uploaded it, until it expires; otherwise a 404 page."""
    _page_open()
    found = precheck_results.load(service().engine, token=token,
                                  owner=precheck_results.valid_owner(
                                      flask.request.cookies.get(precheck_results.OWNER_COOKIE)))
    if found is None:
        days = precheck_results.KEEP_DAYS
        gone = (f"这个检查结果不存在、已过期（保留 {days} 天），或不是在这个浏览器中上传的。请重新上传安装包。"
                if _lang() == "zh" else
                f"This result does not exist, has expired (results are kept {days} days), or was not uploaded from "
                "this browser. Upload the package again.")
        return _page(error={"code": "precheck_result_not_found", "message": gone}, status=404)
    facts, decision, filename, expires = found
    return _page(facts=facts, decision=decision, filename=filename, expires=expires,
                 permalink=flask.request.full_path.rstrip("?"),
                 to_file=precheck_results.to_file(service().engine, facts, decision))


# Why a certificate file is refused, in the page's languages (the codes are gate.extract.certfile's).
_CERTIFICATE_REFUSALS = {
    "certificate_file_private_key": (
        "该文件含有私钥，已拒收且未保存。私钥绝不能交给任何人（包括本平台）：请只上传公钥证书（如 keytool -exportcert -rfc "
        "导出的 .pem/.cer）或 iOS 描述文件（.mobileprovision）。若私钥曾经外泄，请更换签名密钥。",
        "The file contains a private key: it was refused and not kept. Never give a private key to anyone, this "
        "platform included. Upload only the public certificate (e.g. the .pem/.cer of keytool -exportcert -rfc) or "
        "an iOS provisioning profile (.mobileprovision). If the key has leaked, replace the signing key."),
    "certificate_file_missing": ("请选择证书或描述文件。", "Choose a certificate or provisioning profile."),
}


@blueprint.post("/precheck/certificate")
def precheck_certificate():
    """公钥/签名MD5/SHA-1 from a public certificate or provisioning profile; never from a file holding a key."""
    from gate.extract.certfile import (
        MAX_CERTIFICATE_FILE_BYTES,
        CertificateFileError,
        holds_private_key,
        read_certificate_file,
    )

    _page_open()
    lang = _lang()
    try:
        upload = read_form(flask.request)[0].get("certificate")
    except UploadError as exc:  # a malformed or oversized form is shown on the page too
        return _page(error=exc)
    data = upload.read(MAX_CERTIFICATE_FILE_BYTES + 1) if upload else b""
    try:
        if not data:
            raise CertificateFileError("no file", code="certificate_file_missing")
        if holds_private_key(data):  # refused before anything is read from it; its bytes are dropped with the request
            raise CertificateFileError("private key", code="certificate_file_private_key")
        found = read_certificate_file(data)
    except CertificateFileError as exc:
        zh, en = _CERTIFICATE_REFUSALS.get(exc.code, ("无法读取证书文件：" + exc.message, exc.message))
        refusal = {"code": exc.code, "message": zh if lang == "zh" else en}
        return _page(error=refusal, status=400)
    return _page(certificate=found)
