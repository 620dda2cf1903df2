"""The demo inbox (blueprint `inbox`): where posts go when no N8N_WEBHOOK_URL is configured
(never in production). delivery: what the dispatcher sends through (written in this process, so it
works on any port); views: the Inbox page."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)

from . import views  # noqa: E402,F401 (the views register themselves on bp)
