"""What machines call.

posts   blueprint `api` (/api): the JSON API over posts (session cookie + CSRF, or a Bearer
        token); every change is one call into webapp/dispatch/actions.py
alarms  the same blueprint: /api/posts/dispatch (a QStash message, signed) and
        /api/posts/recover (the cron secret, or a signed QStash schedule)
openapi the same blueprint: /api/openapi.json, the OpenAPI 3.1 description of every /api route
health  blueprint `health`: /healthz
"""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import alarms, openapi, posts  # noqa: E402,F401 (the views register themselves on bp)
