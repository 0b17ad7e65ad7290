"""The console's conventions, in one place (every page of gate.web uses them; new pages should too):

- **Language**: zh-CN by default; ``?lang=en`` / ``?lang=zh`` switches and is remembered in the ``gate_lang``
  cookie. Templates write both texts side by side: ``{{ t("复核队列", "Review queue") }}``; reasons come from the
  stored decision's catalogue messages: ``{{ msg(reason.message) }}``. Python code uses ``t()`` the same way.
- **Who**: ``@requires("viewer"|"reviewer"|"admin")`` on a view signs the user in from the session cookie
  (``g.staff``) or sends them to the login page; a lower role gets a 403 page. Roles: gate.web.accounts.ROLES.
- **CSRF**: every POST to the console must carry ``csrf_token`` (the form field ``{{ csrf_field() }}`` writes
  it). The blueprint checks it before any view runs, so a new form is protected by adding that one line; a missing
  or wrong token is a 400 page (``csrf_invalid``) and nothing is changed. Signed in, the token is the session's
  (stored with it). Signed out (the sign-in form), the ``gate_login_csrf`` cookie holds a random nonce and the token
  is its HMAC under the console secret (``login_csrf_key``): a cookie planted by someone else (a sibling domain, a
  plain-HTTP network) comes with no token that matches it, so nobody can sign a victim in to their own account.
- **Errors**: a GateError raised by a view becomes a page in the user's language with its stable code and the
  right status, never a traceback.
- **Pages**: templates extend ``console/base.html`` (blocks ``title`` and ``main``); ``render(name, **ctx)``.
- **Times**: the gate stores UTC; every page shows Beijing time (Asia/Shanghai) through ``{{ when(value) }}``,
  which writes ``<time datetime="2026-05-01T10:15:00+08:00">2026-05-01 10:15</time>``; never ``strftime`` in a
  template. The page footer says once that times are Beijing time.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

import flask
from markupsafe import Markup, escape

from gate import names
from gate.api.service import service
from gate.beijing_time import beijing, beijing_iso  # noqa: F401 (beijing_iso is kit's for the views)
from gate.errors import GateError
from gate.services.auth import Forbidden
from gate.web import accounts

SESSION_COOKIE = "gate_session"
LOGIN_CSRF_COOKIE = "gate_login_csrf"
LANG_COOKIE = "gate_lang"
COOKIE_PATH = "/console"


class CsrfInvalid(GateError):
    code = "csrf_invalid"
    status = 400


def lang() -> str:
    asked = flask.request.args.get("lang")
    if asked in ("zh", "en"):
        return asked
    return "en" if flask.request.cookies.get(LANG_COOKIE) == "en" else "zh"


def t(zh: str, en: str) -> str:
    return en if lang() == "en" else zh


def msg(message: dict | None) -> str:
    """A catalogue message ({"zh", "en"}) in the page's language."""
    message = message or {}
    return message.get("en" if lang() == "en" else "zh") or message.get("zh") or message.get("en") or ""


def shared_console_secret(settings) -> str | None:
    """What every instance of one deployment shares to sign the sign-in form's token: ``GATE_CONSOLE_SECRET``, or
    else the database password (no one outside the deployment knows it); None when there is neither (SQLite)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if settings.console_secret:
        return settings.console_secret
    try:
        return make_url(settings.database_url).password or None
    except ArgumentError:
        return None


@functools.lru_cache(maxsize=8)
def login_csrf_key(settings) -> bytes:
    """The key of the sign-in form's token; without a shared secret, a random one for this process (`gate serve`
    sets GATE_CONSOLE_SECRET for its workers then, gate.commands.serve)."""
    secret = shared_console_secret(settings) or _PROCESS_SECRET
    return hashlib.sha256(b"gate login csrf\x00" + str(secret).encode("utf-8")).digest()


_PROCESS_SECRET = secrets.token_hex(32)


def _login_token(nonce: str) -> str:
    key = login_csrf_key(service().settings)
    return hmac.new(key, nonce.encode("utf-8"), hashlib.sha256).hexdigest()


def _login_nonce() -> str | None:
    nonce = flask.request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return nonce if 20 <= len(nonce) <= 64 else None


def _same_site_origin() -> bool:
    """False when the browser says the form came from elsewhere, so a planted cookie with a token the attacker
    fetched for it is still refused: ``Sec-Fetch-Site`` other than ``same-origin`` (a sibling subdomain — the place
    cookies are planted from — is ``same-site``: refused too), or an ``Origin`` naming another host. Browsers send
    ``Origin: null`` for our own pages (``Referrer-Policy: no-referrer``): that says nothing. No header at all
    (older clients, scripts): the token decides."""
    fetch_site = flask.request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = flask.request.headers.get("Origin")
    if origin is None or origin == "null":
        return True
    host = flask.request.host.rsplit(":", 1)[0] if not flask.request.host.endswith("]") else flask.request.host
    return urlsplit(origin).hostname == host.strip("[]").lower()


def when(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> Markup:
    """A time on a page: Beijing time, machine-readable in its datetime attribute; "-" for none."""
    local = beijing(value)
    if local is None:
        return Markup("-")
    return Markup(f'<time datetime="{beijing_iso(value)}">{escape(local.strftime(fmt))}</time>')


def csrf_token() -> str:
    token = flask.g.get("csrf")
    if token is None:  # signed out (the sign-in form): the HMAC of the nonce in the cookie set with this page
        nonce = flask.g.login_csrf = _login_nonce() or secrets.token_urlsafe(32)
        token = _login_token(nonce)
    return token


def csrf_field() -> Markup:
    from markupsafe import Markup

    return Markup(f'<input type="hidden" name="csrf_token" value="{csrf_token()}">')


def secure_cookies() -> bool:
    """Secure flag on every console cookie, except over plain HTTP to a loopback address (``make run`` on a
    laptop), where browsers would otherwise never send it back."""
    if flask.request.scheme == "https":
        return True
    host = flask.request.host.rsplit(":", 1)[0].strip("[]")
    try:
        return not (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        return True


def set_cookie(response: flask.Response, name: str, value: str, *, max_age: int | None = None,
               http_only: bool = True) -> None:
    response.set_cookie(name, value, max_age=max_age, path=COOKIE_PATH, secure=secure_cookies(),
                        httponly=http_only, samesite="Lax")


def load_session() -> None:
    """before_request: who is signed in (g.staff, g.csrf) — None when nobody is."""
    if flask.request.endpoint == "console.static":  # CSS/JS (also the public pre-check page's): no session
        flask.g.staff, flask.g.csrf = None, None
        return
    token = flask.request.cookies.get(SESSION_COOKIE)
    found = accounts.session_for(service().engine, token) if token else None  # no cookie: no database query
    flask.g.staff, flask.g.csrf = found if found else (None, None)


def check_csrf() -> None:
    """before_request: refuse a POST whose csrf_token is not this session's (or the login page's) token."""
    if flask.request.method != "POST":
        return
    sent = flask.request.form.get("csrf_token", "")
    if flask.g.get("staff"):
        expected = flask.g.csrf
    else:
        nonce = _login_nonce()
        expected = _login_token(nonce) if nonce and _same_site_origin() else None
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        raise CsrfInvalid(t("表单已过期或缺少安全令牌，请刷新页面后重试。",
                            "The form has expired or lacks its security token; reload the page and try again."))


def requires(role: str):
    """View decorator: a signed-in staff user with at least ``role``."""
    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            staff = flask.g.get("staff")
            if staff is None:
                if flask.request.method == "GET":
                    return flask.redirect(flask.url_for("console.login", next=flask.request.full_path))
                raise accounts.LoginRefused(t("请先登录。", "Please sign in first."), code="login_required")
            if not staff.can(role):
                able = list(ROLE_NAMES)[list(ROLE_NAMES).index(role):]  # every role at or above ``role`` may
                raise Forbidden(t(f"此操作需要{'或'.join(ROLE_NAMES[r][0] for r in able)}权限。",
                                   f"This needs the {' or '.join(ROLE_NAMES[r][1] for r in able)} role."))
            return view(*args, **kwargs)
        return inner
    return wrap


ROLE_NAMES = {"viewer": ("查看员", "viewer"), "reviewer": ("复核员", "reviewer"), "admin": ("管理员", "admin")}
VERDICT_NAMES = {"allow": ("通过", "allow"), "review": ("需人工复核", "review"), "block": ("拦截", "block")}


def verdict_name(v: str | None) -> str:
    return t(*VERDICT_NAMES.get(v, (v or "-", v or "-"))) if v in VERDICT_NAMES else names.name({}, v, lang())


def reason_name(code: str | None) -> str:
    return names.name(names.REASONS, code, lang())


def reason_names(codes: str | None) -> str:
    """A check's space-separated reason codes as names ("未备案、域名未备案")."""
    parts = [reason_name(c) for c in (codes or "").split()]
    return ("、" if lang() == "zh" else ", ").join(parts) or "-"


def reason_choices() -> tuple:
    """(code, name) for a filter by reason."""
    return tuple((code, t(*pair)) for code, pair in names.REASONS.items())


def filing_status_name(status: str | None) -> str:
    return names.name(names.FILING_STATES, status, lang())


def render(name: str, status: int = 200, **context) -> tuple[str, int]:
    return flask.render_template(name, **context), status


# Chinese texts of the refusals a console page can meet (the English is the error's own message). Keyed by code, or
# by (code, field) for errors that name a field.
ERRORS_ZH: dict[str | tuple[str, str | None], str] = {  # by code, or by (code, field) where the field matters
    "rate_limited": "请求过于频繁，请稍后再试。",
    "query_invalid": "筛选条件含有不允许的字符（NUL）。",
    "review_blocked": "该安装包按今天的备案会被拦截；批准不能推翻第1–5步的拦截。",
    "review_not_pending": "该检查不在等待复核（可能已被他人处理）。",
    "review_not_needed": "这条检查的结论由规则直接决定（通过或拦截），不需要人工复核。",
    "review_claimed": "另一位复核员已认领这条检查，请等其处理或认领到期。",
    "user_self": "不能停用自己的账号或修改自己的角色。",
    "user_exists": "已有同名用户。",
    "username_invalid": "用户名须为 2 到 64 个字母、数字或 . _ @ -。",
    "user_not_found": "没有这个用户。",
    "user_action_invalid": "请选择一个操作。",
    "review_comment_missing": "请填写复核意见。",
    "review_outcome_invalid": "请选择批准或拒绝。",
    "exemption_not_found": "没有这条豁免。",
    "client_not_found": "没有这个客户端。",
    "client_exists": "已有同名客户端。",
    "client_name_invalid": "客户端名称须为 1 到 128 个字符。",
    "role_invalid": "角色无效。",
    "callback_url_forbidden": "回调地址不符合地址规则（须为可从公网访问的 https 地址）。",
    "check_not_found": "没有这条检查记录。",
    "filing_not_found": "没有这个备案。",
    ("exemption_invalid", "package"): "包名须为安卓包名（如 com.android.settings）。",
    ("exemption_invalid", "cert_sha256"): "证书 SHA-256 须为 64 位十六进制数字（可带冒号）。",
    ("exemption_invalid", "scope"): "豁免只适用于预置检查（preinstall）。",
    ("exemption_invalid", "reason_category"): "请选择豁免类别。",
    ("exemption_invalid", "reason"): "请填写说明（1 到 2000 字）。",
    ("exemption_invalid", "approved_by"): "请填写批准人（1 到 128 字）。",
    ("exemption_invalid", "expires_at"): "有效期须晚于现在。",
    # The pre-submission checks of a filing application (gate.sync.applications.precheck's problem codes).
    "identity_unverified": "安装包签名未通过验证：只能为已验证的安装包备案。",
    "already_filed": "该应用已有有效备案，请变更原备案。",
    "domain_not_filed": "以下域名/IP 没有任何备案覆盖（请先为网站备案）：",
    "name_mismatch": "服务名称与应用名称不相符。",
    "applicant_mismatch": "主办单位与上传时声明的开发者主体不一致。",
    "form_invalid": "请完整填写服务名称、主办单位和至少一位联系人（姓名及电话或邮箱）；证件号码须为 18 位。",
}


def error_text(exc: GateError) -> str:
    """The refusal in the page's language."""
    return _refusal_text(exc.code, getattr(exc, "field", None), exc.message)


def problem_text(problem: dict) -> str:
    """One problem of a refusal that lists several (``{"code", "message", …}``) in the page's language."""
    return _refusal_text(problem["code"], problem.get("field"), problem["message"])


def _refusal_text(code: str, field: str | None, message: str) -> str:
    if lang() == "en":
        return message
    return ERRORS_ZH.get((code, field)) or ERRORS_ZH.get(code) or message


# What an HTTP status means to the person who met it (the heading of the error page).
STATUS_TITLES = {400: ("请求有误", "The request was not accepted"), 401: ("请先登录", "Please sign in"),
                 403: ("没有权限", "Not allowed"), 404: ("没有找到", "Not found"),
                 405: ("不支持这种请求", "Method not allowed"), 409: ("无法完成操作", "The action could not be completed"),
                 413: ("上传的文件太大", "The upload is too large"), 429: ("请求过于频繁", "Too many requests"),
                 503: ("服务暂时不可用", "The service is unavailable for now")}
HTTP_ERRORS_ZH = {"not_found": "没有这个页面。请检查地址，或从导航进入。", "method_not_allowed": "这个地址不接受这种请求方式。",
                  "upload_too_large": "上传的文件超过了允许的大小。", "database_unavailable": "数据库暂时不可用，请稍后重试。",
                  "internal_error": "服务内部出错，已记录；请稍后重试，或把页面底部的代码告诉管理员。"}


def status_title(status: int) -> str:
    return t(*STATUS_TITLES.get(status, ("服务出错", "Something went wrong") if status >= 500
                                else ("无法完成请求", "The request was refused")))


def error_page(exc: GateError):
    status = getattr(exc, "status", None) or 500
    return render("console/error.html", status, error=exc, error_message=error_text(exc),
                  title=status_title(status))


def html_error(code: str, message: str, status: int) -> flask.Response:
    """Any console URL's error (an unknown page, a wrong method, an unexpected fault) as a page in the user's
    language; the app's JSON error handler hands console paths here."""
    from types import SimpleNamespace

    context = {**template_globals(), "staff": flask.g.get("staff"), "error": SimpleNamespace(code=code),
               "title": status_title(status),
               "error_message": message if lang() == "en" else HTTP_ERRORS_ZH.get(code) or ERRORS_ZH.get(code)
               or message}
    response = flask.make_response(flask.render_template("console/error.html", **context), status)
    return remember_lang(response)


def template_globals() -> dict:
    return {"t": t, "msg": msg, "lang": lang(), "csrf_field": csrf_field, "staff": flask.g.get("staff"),
            "when": when,
            "role_name": lambda r: t(*ROLE_NAMES.get(r, (r, r))),
            "verdict_name": verdict_name, "reason_name": reason_name, "reason_names": reason_names,
            "severity_name": lambda s: names.name(names.SEVERITIES, s, lang()),
            "filing_status_name": filing_status_name, "reason_choices": reason_choices(),
            "client_role_name": lambda r: names.name(names.CLIENT_ROLES, r, lang()),
            "callback_state_name": lambda s: names.name(names.CALLBACK_STATES, s, lang()),
            "event_name": lambda e: names.name(names.EVENTS, e, lang()),
            "platform_name": lambda p: names.name(names.PLATFORMS, p, lang()),
            "named": lambda table, code: names.name(getattr(names, table), code, lang()),
            "audit_action_name": lambda a: names.name(names.AUDIT_ACTIONS, a, lang()),
            "audit_details": details_text, "export_url": _export_url,
            "switch_lang": _switch_lang_url}


def _export_url() -> str:
    from gate.web.paging import page_url

    return page_url(format="csv", size=None)


def details_text(details: str) -> str:
    """An audit event's stored details as one line of ``key: value`` (at most 300 characters)."""
    try:
        found = json.loads(details or "{}")
    except ValueError:
        return details or ""
    if not isinstance(found, dict):
        return str(found)
    return " · ".join(f"{k}: {v if not isinstance(v, (dict, list)) else json.dumps(v, ensure_ascii=False)}"
                      for k, v in found.items() if v not in (None, "", [], {}))[:300]


def _switch_lang_url() -> str:
    args: dict[str, Any] = flask.request.args.to_dict()
    args["lang"] = "zh" if lang() == "en" else "en"
    if flask.request.endpoint is None:  # an error page for a URL that matched no page
        from urllib.parse import urlencode

        return f"{flask.request.path}?{urlencode(args)}"
    return flask.url_for(flask.request.endpoint, **(flask.request.view_args or {}), **args)


def remember_lang(response: flask.Response) -> flask.Response:
    """after_request: keep an explicit ?lang= choice; hand the login form its double-submit cookie."""
    asked = flask.request.args.get("lang")
    if asked in ("zh", "en"):
        set_cookie(response, LANG_COOKIE, asked, max_age=365 * 86400)
    if flask.g.get("login_csrf") and flask.g.login_csrf != flask.request.cookies.get(LOGIN_CSRF_COOKIE):
        set_cookie(response, LOGIN_CSRF_COOKIE, flask.g.login_csrf)
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null" with the console's own forms,
    # and the sign-in form's origin check (_same_site_origin) would refuse every sign-in from a browser.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data:; style-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'")
    return response
