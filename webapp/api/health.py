"""Blueprint `health`: /healthz. Is the database reachable, is a dispatcher alive, is anything overdue,
and does this app's clock agree with the database's ("never early" relies on the sender's clock)."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from ..dispatch import actions
from ..runtime import core
from ..timeutil import iso_z

bp = Blueprint("health", __name__)
log = logging.getLogger("punctual.health")

#: Seconds of disagreement between the app's clock and the database's worth a warning.
CLOCK_WARNING = 1.0


def _age(now, instant) -> float | None:
    return None if instant is None else round((now - instant).total_seconds(), 3)


def clock_offset() -> tuple[float, float]:
    """(database clock − app clock, ± uncertainty) in seconds, read around one round trip."""
    c = core()
    sent, before = time.monotonic(), c.clock()
    database = c.store.database_time()
    rtt = time.monotonic() - sent
    middle = before.timestamp() + rtt / 2
    return database.timestamp() - middle, rtt / 2


@bp.get("/healthz")
def healthz():
    c = core()
    now = c.clock()
    backend = current_app.config["SCHEDULER_BACKEND"]
    try:
        figures = c.store.health(now=now)
        offset, uncertainty = clock_offset()
        last = actions.last_check(c)
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", database=f"unreachable ({type(exc).__name__})", backend=backend), 503
    warnings = []
    if abs(offset) - uncertainty > CLOCK_WARNING:
        warnings.append(f"This app's clock and the database's differ by {offset:+.2f} s (more than "
                        f"{CLOCK_WARNING:g} s): posts are sent by the app's clock, so check NTP on both.")
        log.warning(warnings[-1])
    return jsonify(
        status="warning" if warnings else "ok",
        database="ok",
        backend=backend,
        dispatcherHeartbeatAgeSeconds=_age(now, figures["heartbeat_at"]),
        overdue=figures["overdue"],
        oldestOverdueAgeSeconds=_age(now, figures["oldest_due_at"]),
        publishing=figures["publishing"],
        clockOffsetSeconds=round(offset, 3),
        # the latest pipeline check anyone ran: when, and which step failed (no sentences: they
        # name hosts and settings; Settings shows them to the user)
        pipelineCheck=None if last is None else {
            "checkedAt": iso_z(last.checked_at), "passed": last.passed, "demo": last.demo,
            "failedStep": last.failed_step.step if last.failed_step else None},
        warnings=warnings,
    )
