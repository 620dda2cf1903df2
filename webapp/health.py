"""/healthz: is the database reachable, is a dispatcher alive, is anything overdue."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from .runtime import core

bp = Blueprint("health", __name__)


def _age(now, instant) -> float | None:
    return None if instant is None else round((now - instant).total_seconds(), 3)


@bp.get("/healthz")
def healthz():
    c = core()
    now = c.clock()
    try:
        figures = c.store.health(now=now)
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", database=f"unreachable ({type(exc).__name__})",
                       backend=current_app.config["SCHEDULER_BACKEND"]), 503
    return jsonify(
        status="ok",
        database="ok",
        backend=current_app.config["SCHEDULER_BACKEND"],
        dispatcherHeartbeatAgeSeconds=_age(now, figures["heartbeat_at"]),
        overdue=figures["overdue"],
        oldestOverdueAgeSeconds=_age(now, figures["oldest_due_at"]),
        publishing=figures["publishing"],
    )
