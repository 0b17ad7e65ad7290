"""Sign in, sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

import flask

from gate.api.limits import RateLimited
from gate.api.service import service
from gate.web import accounts, kit
from gate.web.blueprint import blueprint
from gate.web.login_throttle import throttle


def _safe_next(target: str | None) -> str:
    # Only a path inside the console: never an open redirect to another site.
    if target and target.startswith("/console/") and not urlsplit(target).netloc and "\\" not in target:
        return target
    return flask.url_for("console.dashboard")


@blueprint.get("/login")
def login():
    if flask.g.staff is not None:
        return flask.redirect(_safe_next(flask.request.args.get("next")))
    return kit.render("console/login.html", next=flask.request.args.get("next", ""), error=None)


@blueprint.post("/login")
def login_submit():
    form = flask.request.form
    address = flask.request.remote_addr or "unknown"
    wait = throttle().wait_seconds(address)
    if wait:  # this address guessed too often (gate.web.login_throttle): no password is looked at
        raise RateLimited(kit.t(f"登录失败次数过多，请 {wait} 秒后再试。",
                                f"too many failed sign-ins from this address; retry in {wait} s"), retry_after=wait)
    try:
        signed = accounts.sign_in(service().engine, username=form.get("username", "")[:64],
                                  password=form.get("password", "")[:1024], remote=address)
    except accounts.LoginRefused:
        throttle().failed(address)
        error = kit.t("用户名或密码错误；多次错误后须稍候（最长 1 分钟）再试。",
                      "Wrong username or password; after repeated failures, wait (at most a minute) and try again.")
        return kit.render("console/login.html", 401, next=form.get("next", ""), error=error)
    response = flask.redirect(_safe_next(form.get("next")))
    kit.set_cookie(response, kit.SESSION_COOKIE, signed.token, max_age=accounts.SESSION_HOURS * 3600)
    response.delete_cookie(kit.LOGIN_CSRF_COOKIE, path=kit.COOKIE_PATH)
    return response


@blueprint.post("/logout")
def logout():
    staff = flask.g.staff
    if staff is not None:
        accounts.sign_out(service().engine, flask.request.cookies.get(kit.SESSION_COOKIE), username=staff.username)
    response = flask.redirect(flask.url_for("console.login"))
    response.delete_cookie(kit.SESSION_COOKIE, path=kit.COOKIE_PATH)
    return response
