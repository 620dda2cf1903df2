"""The dashboard: the user's posts (the full scheduling UI grows here)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from . import queries

bp = Blueprint("posts", __name__)


@bp.get("/")
@login_required
def index():
    return render_template("posts/index.html", posts=queries.list_posts(current_user.id))
