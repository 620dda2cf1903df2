"""The JSON API (camelCase, ISO 8601 UTC with Z). Session cookie + X-CSRFToken, or a Bearer token.
Two machine endpoints need no login: dispatch (QStash, signed) and recover (cron secret or signed)."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from functools import partial

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from . import queries, timeutil
from .crypto import constant_time_equal
from .dispatch import actions
from .dispatch.alarms.qstash import DISPATCH_PATH, RECOVER_PATH
from .dispatch.dispatcher import Outcome
from .dispatch.errors import InvalidInput, PunctualError
from .models import Attempt, Post
from .runtime import core, signature_verifier
from .timeutil import iso_z
from .validation import post_fields
from .web import bearer_token, csrf_exempt

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body() -> object:
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body must be JSON (Content-Type: application/json).")
    return data


def attempt_json(attempt: Attempt) -> dict:
    return {
        "scheduleVersion": attempt.schedule_version,
        "trigger": attempt.trigger,
        "startedAt": iso_z(attempt.started_at),
        "finishedAt": iso_z(attempt.finished_at),
        "outcome": attempt.outcome,
        "httpStatus": attempt.http_status,
        "error": attempt.error,
        "durationMs": attempt.duration_ms,
    }


def post_json(post: Post, *, with_attempts: bool = False) -> dict:
    data = {
        "id": post.id,
        "status": post.status,
        "content": post.content,
        "imageUrl": post.image_url,
        "scheduledAt": iso_z(post.scheduled_at),
        "publishedAt": iso_z(post.published_at),
        "errorMessage": post.error_message,
        "attemptCount": post.attempt_count,
        "qstashMessageId": post.qstash_message_id,
        "linkedinPostUrn": post.linkedin_post_urn,
        "createdAt": iso_z(post.created_at),
        "updatedAt": iso_z(post.updated_at),
    }
    if with_attempts:
        data["attempts"] = [attempt_json(a) for a in post.attempts]
    return data


@bp.post("/posts")
@login_required
def posts_create():
    post_id = actions.create_post(core(), current_user.id, post_fields(json_body(), partial=False))
    return jsonify(post_json(queries.load_post(current_user.id, post_id))), 201


@bp.get("/posts")
@login_required
def posts_list():
    status = queries.parse_status(request.args.get("status"))
    return jsonify(posts=[post_json(p) for p in queries.list_posts(current_user.id, status)])


@bp.get("/posts/<post_id>")
@login_required
def posts_get(post_id: str):
    return jsonify(post_json(queries.load_post(current_user.id, post_id, with_attempts=True), with_attempts=True))


@bp.patch("/posts/<post_id>")
@login_required
def posts_patch(post_id: str):
    fields = post_fields(json_body(), partial=True)
    actions.edit_post(core(), current_user.id, post_id, fields)
    return jsonify(post_json(queries.load_post(current_user.id, post_id)))


@bp.delete("/posts/<post_id>")
@login_required
def posts_delete(post_id: str):
    actions.delete_post(core(), current_user.id, post_id)
    return "", 204


SCHEDULE_FIELDS = {"scheduledAt", "timeZone"}


def requested_time(data: object, default_zone: str) -> timeutil.ResolvedTime:
    """{scheduledAt: ISO 8601 with offset | local date-time, timeZone?: IANA} -> an instant."""
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    unknown = sorted(set(data) - SCHEDULE_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0]!r}: send 'scheduledAt' and optionally 'timeZone'.")
    zone_name = data.get("timeZone", default_zone)
    if not isinstance(zone_name, str) or not timeutil.is_valid_zone(zone_name):
        raise InvalidInput(f"timeZone {zone_name!r} is not an IANA time zone such as Europe/Berlin.")
    try:
        return timeutil.parse_instant(data.get("scheduledAt"), zone_name)
    except timeutil.TimeInputError as exc:
        raise InvalidInput(str(exc)) from None


def scheduled_json(result: actions.Scheduled) -> dict:
    data = {"id": result.post_id, "status": "scheduled", "scheduledAt": iso_z(result.scheduled_at),
            "messageId": result.message_id}
    if result.note:
        data["note"] = result.note
    if result.warning:
        data["warning"] = result.warning
    if result.linkedin_warning:
        data["linkedinWarning"] = result.linkedin_warning
    return data


@bp.post("/posts/<post_id>/schedule")
@login_required
def posts_schedule(post_id: str):
    when = requested_time(json_body(), current_user.time_zone)
    result = actions.schedule_post(core(), current_user.id, post_id, when, current_user.time_zone)
    return jsonify(scheduled_json(result))


@bp.post("/posts/<post_id>/unschedule")
@login_required
def posts_unschedule(post_id: str):
    actions.unschedule_post(core(), current_user.id, post_id)
    return jsonify(id=post_id, status="unscheduled")


@bp.post("/posts/<post_id>/publish-now")
@login_required
def posts_publish_now(post_id: str):
    return jsonify(scheduled_json(actions.publish_now(core(), current_user.id, post_id, current_user.time_zone)))


# ---------------------------------------------------------------- machine endpoints: QStash and cron

log = logging.getLogger("punctual.api")

#: The database is unreachable: worth retrying, not a reason to drop the message.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout)
DATABASE_RETRY_AFTER = 10
#: Outcomes QStash should deliver again later (with Retry-After): n8n not reached or declined, or early.
RETRY_LATER = frozenset({"retrying", "early"})


class MalformedMessage(PunctualError):
    """The message body must be JSON {postId, userId, version}; delivering it again cannot help."""

    status = 489


class CronSecretRequired(PunctualError):
    """Send the cron secret as 'Authorization: Bearer <CRON_SECRET>'."""

    status = 401


@bp.errorhandler(MalformedMessage)
def _malformed_message(exc: MalformedMessage):
    # 489 + this header is QStash's documented way to stop retrying a message.
    return jsonify(error=exc.message), 489, {"Upstash-NonRetryable-Error": "true"}


@dataclass(frozen=True)
class DispatchMessage:
    post_id: str
    user_id: int
    version: int


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def dispatch_message(body: bytes) -> DispatchMessage:
    """Parse {postId, userId, version}; anything else is malformed (489: never retried)."""
    try:
        data = json.loads(body)
    except ValueError:
        raise MalformedMessage("The message body is not JSON; expected {postId, userId, version}.") from None
    if not isinstance(data, dict):
        raise MalformedMessage("The message body must be a JSON object {postId, userId, version}.")
    post_id, user_id, version = data.get("postId"), data.get("userId"), data.get("version")
    if not isinstance(post_id, str) or not 0 < len(post_id) <= 64:
        raise MalformedMessage("postId must be a post id (a string).")
    if not _whole(user_id) or not _whole(version) or version < 1:
        raise MalformedMessage("userId and version must be whole numbers (version 1 or more).")
    return DispatchMessage(post_id, user_id, version)


def signed_body(path: str) -> bytes:
    """The raw body, once its Upstash-Signature is verified against APP_URL + path (exactly the URL
    QStash was given; request.url differs behind Vercel's proxy). Raises InvalidSignature (401)."""
    body = request.get_data(cache=True)
    url = current_app.config["APP_URL"].rstrip("/") + path
    signature_verifier().verify(signature=request.headers.get("Upstash-Signature"), body=body, url=url)
    return body


def require_cron_secret() -> None:
    """Vercel Cron sends 'Authorization: Bearer <CRON_SECRET>'. No secret configured: refuse all."""
    secret = current_app.config.get("CRON_SECRET")
    if not secret:
        log.warning("refused a recover call: CRON_SECRET is not set, so the cron endpoint is closed")
        raise CronSecretRequired()
    if not constant_time_equal(bearer_token(), secret):
        raise CronSecretRequired()


def retry_later(body: dict, seconds: float | None):
    seconds = max(1, math.ceil(seconds or 0))
    return jsonify({**body, "retryAfter": seconds}), 503, {"Retry-After": str(seconds)}


def database_unavailable():
    log.warning("the database is unreachable; asked the caller to retry in %d s", DATABASE_RETRY_AFTER)
    return retry_later({"error": "The database is unreachable right now; try again shortly."},
                       DATABASE_RETRY_AFTER)


def outcome_json(outcome: Outcome):
    """200 for anything final (published, failed, ignored); 503 + Retry-After for retry or early."""
    body = {"postId": outcome.post_id, "result": outcome.result, "reason": outcome.reason,
            "message": outcome.message, "httpStatus": outcome.http_status}
    if outcome.result in RETRY_LATER:
        return retry_later(body, outcome.retry_after)
    return jsonify(body)


@bp.post("/posts/dispatch")
@csrf_exempt
def posts_dispatch():
    """QStash delivers a post version's message here at its second."""
    message = dispatch_message(signed_body(DISPATCH_PATH))
    try:
        outcome = core().dispatcher.dispatch_one(message.post_id, message.version, trigger="qstash")
    except DATABASE_DOWN:
        return database_unavailable()
    return outcome_json(outcome)


def recover_json():
    """One sweep within RECOVER_TIME_BUDGET: {recovered, failed, enqueued, total}."""
    c = core()
    deadline = time.monotonic() + current_app.config["RECOVER_TIME_BUDGET"]
    try:
        report = c.dispatcher.sweep(trigger="sweep", deadline=deadline,
                                    enqueue=partial(c.alarm.enqueue_missing, deadline=deadline))
    except DATABASE_DOWN:
        return database_unavailable()
    return jsonify(report.as_json())


@bp.get("/posts/recover")
def posts_recover_get():
    """Vercel Cron (daily on Hobby) calls this with the cron secret."""
    require_cron_secret()
    return recover_json()


@bp.post("/posts/recover")
@csrf_exempt
def posts_recover_post():
    """The QStash schedule (every 5 minutes) calls this, signed."""
    signed_body(RECOVER_PATH)
    return recover_json()
