"""Sign in, sign out."""

from __future__ import annotations

from urllib.parse import urlsplit

import flask

from gate.platform_hooks.service import service
from gate.web import accounts, kit
from gate.web.blueprint import blueprint


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
    try:
        signed = accounts.sign_in(service().engine, username=form.get("username", "")[:64],
                                  password=form.get("password", "")[:1024], remote=flask.request.remote_addr)
    except accounts.LoginRefused:
        error = kit.t("用户名或密码错误，或账号已被锁定（连续 5 次错误后锁定 15 分钟）。",
                      "Wrong username or password, or the account is locked (15 minutes after 5 wrong tries).")
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
