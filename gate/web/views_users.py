"""The users page (admins): staff users with their role and state; create, disable/enable, reset a password and
change a role — each audited (gate.web.accounts) with the signed-in admin as the actor. A new or reset password is
random and shown once, like ``gate users reset-password`` prints it."""

from __future__ import annotations

import secrets

import flask

from gate.api.service import service
from gate.errors import UsageError
from gate.web import accounts, kit
from gate.web.blueprint import blueprint
from gate.web.kit import requires


def _page(status: int = 200, *, issued=None, error: str | None = None):
    with service().engine.connect() as conn:
        users = accounts.list_users(conn)
    return kit.render("console/users.html", status, users=users, issued=issued, error=error, roles=accounts.ROLES,
                      now=accounts.utcnow())


def _actor() -> str:
    return f"staff:{flask.g.staff.username}"


@blueprint.get("/users")
@requires("admin")
def users():
    return _page()


@blueprint.post("/users")
@requires("admin")
def user_create():
    form = flask.request.form
    password = secrets.token_urlsafe(12)
    try:
        accounts.create_user(service().engine, username=form.get("username", "").strip(), role=form.get("role", ""),
                             password=password, actor=_actor())
    except UsageError as exc:
        return _page(400, error=f"{kit.error_text(exc)} ({exc.code})")
    return _page(issued={"username": form.get("username", "").strip(), "password": password})


@blueprint.post("/users/<username>")
@requires("admin")
def user_change(username: str):
    form = flask.request.form
    action = form.get("action", "")
    try:
        if action == "reset":
            password = secrets.token_urlsafe(12)
            accounts.reset_password(service().engine, username=username, password=password, actor=_actor())
            return _page(issued={"username": username, "password": password})
        if action in ("disable", "enable"):
            accounts.set_disabled(service().engine, username=username, disabled=action == "disable", actor=_actor())
        elif action == "role":
            accounts.set_role(service().engine, username=username, role=form.get("role", ""), actor=_actor())
        else:
            raise UsageError("choose an action", code="user_action_invalid")
    except UsageError as exc:
        return _page(400, error=f"{kit.error_text(exc)} ({exc.code})")
    return flask.redirect(flask.url_for("console.users"))
