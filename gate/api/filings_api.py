"""Filing lookups over HTTP: a filing by its number, and the badge a store shows next to an app (备案号 + link)."""

from __future__ import annotations

import flask
from sqlalchemy.engine import Engine

from gate.api.access import client_for
from gate.api.service import service
from gate.db.filings import DatabaseRegistry
from gate.errors import GateError

blueprint = flask.Blueprint("filings", __name__)

# MIIT's filing query system: the regulation asks platforms to show the number and let users look it up there.
BEIAN_LINK = "https://beian.miit.gov.cn/"


class FilingNotFound(GateError):
    code = "filing_not_found"
    status = 404


# What the shown number is called (notice 105 八): an app's, a mini program's, a quick app's filing number.
BADGE_LABELS = {"android": "APP备案号", "ios": "APP备案号", "harmony": "APP备案号", "quickapp": "快应用备案号",
                "miniprogram": "小程序备案号"}


def badge_for(engine: Engine, package: str, platform: str = "android") -> dict:
    """The filing number to show for a package (an AppID for a mini program): only a filing in force, never a
    cancelled one."""
    with engine.connect() as conn:
        filings = DatabaseRegistry(conn).filings_for(platform, package)
    in_force = [f for f in filings if f.active and not f.blacklisted]
    if not in_force:
        raise FilingNotFound(f"no filing in force names {package}; the app must not be shown as filed")
    filing = max(in_force, key=lambda f: (f.approved_at or "", f.service_licence))
    return {"package": package, "platform": platform, "service_licence": filing.service_licence,
            "service_name": filing.service_name, "unit_name": filing.unit_name, "link": BEIAN_LINK,
            "label": BADGE_LABELS[platform], "text": f"{BADGE_LABELS[platform]}：{filing.service_licence}"}


@blueprint.get("/api/v1/filings/<path:service_licence>")
def get_filing(service_licence: str):
    client_for("store", "oem", "developer")
    with service().engine.connect() as conn:
        filing = DatabaseRegistry(conn).current(service_licence)
    if filing is None:
        raise FilingNotFound(f"no filing {service_licence}")
    return flask.jsonify(filing.canonical())
