"""The staff console: server-rendered pages for compliance officers beside the machine API (gate.api).

Layout (one purpose per module):
- ``kit``: the conventions every page follows — language (zh-CN default, ``?lang=en``), ``@requires(role)``,
  CSRF on every POST, error pages. Read its docstring before adding a page.
- ``blueprint``: the ``console`` blueprint with those hooks; ``accounts``/``passwords``: staff users, sessions,
  lockout; ``views_*``: the pages (auth, reviews, browse, admin, dashboard); ``charts``: server-rendered SVG.
- ``templates/console/``: Jinja templates extending ``base.html``; ``static/``: one CSS and one small JS file,
  served by the gate itself (no CDN, no build step).

Adding a page: a view in a ``views_*`` module decorated with ``@blueprint.get(...)`` and ``@requires("viewer")``,
a template extending ``console/base.html`` using ``t("中文", "English")``, ``{{ csrf_field() }}`` in every form,
and a link in base.html's nav.
"""

from __future__ import annotations

import flask


def register(app: flask.Flask) -> None:
    from gate.web import (  # noqa: F401
        views_admin,
        views_applications,
        views_audit,
        views_auth,
        views_browse,
        views_dashboard,
        views_reviews,
        views_users,
    )
    from gate.web.blueprint import blueprint

    app.register_blueprint(blueprint)
