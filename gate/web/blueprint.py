"""The console blueprint: every page under /console, with the hooks of gate.web.kit (session, CSRF, language,
error pages) attached once here so no view can forget them."""

from __future__ import annotations

import json

import flask

from gate.errors import GateError
from gate.web import kit

blueprint = flask.Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
                            static_folder="static", static_url_path="/static")
blueprint.before_request(kit.load_session)
blueprint.before_request(kit.check_csrf)
blueprint.after_request(kit.remember_lang)
blueprint.context_processor(kit.template_globals)
blueprint.register_error_handler(GateError, kit.error_page)
blueprint.add_app_template_filter(json.loads, "fromjson")
