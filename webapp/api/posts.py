"""The JSON API over posts (camelCase, ISO 8601 UTC with Z): session cookie + X-CSRFToken, or a
Bearer token. Each view parses the request, makes one call into webapp/dispatch/actions.py, and
answers with JSON; refusals are PunctualErrors, answered {"error": sentence} by webapp/web.py."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import queries, timeutil
from ..dispatch import actions
from ..dispatch.errors import InvalidInput
from ..models import Attempt, Post
from ..runtime import core
from ..timeutil import iso_z
from ..validation import post_fields
from . import bp

SCHEDULE_FIELDS = {"scheduledAt", "timeZone"}
CONFIRM_FIELDS = {"linkedinPostUrl"}


def json_body() -> object:
    data = request.get_json(silent=True)
    if data is None:
        raise InvalidInput("The request body must be JSON (Content-Type: application/json).")
    return data


def optional_body() -> dict[str, Any]:
    """A JSON object, or {} when the request has no body."""
    if not request.get_data():
        return {}
    data = json_body()
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data


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


# ---------------------------------------------------------------- answers


def attempt_json(attempt: Attempt) -> dict[str, Any]:
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


def post_json(post: Post, *, with_attempts: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
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


def the_post(post_id: str, status: int = 200) -> ResponseReturnValue:
    """The user's post as it is now."""
    return jsonify(post_json(queries.load_post(current_user.id, post_id))), status


def scheduled_json(result: actions.Scheduled) -> ResponseReturnValue:
    data = {"id": result.post_id, "status": "scheduled", "scheduledAt": iso_z(result.scheduled_at),
            "messageId": result.message_id}
    if result.note:
        data["note"] = result.note
    if result.warning:
        data["warning"] = result.warning
    if result.linkedin_warning:
        data["linkedinWarning"] = result.linkedin_warning
    return jsonify(data)


# ---------------------------------------------------------------- views


@bp.post("/posts")
@login_required
def posts_create() -> ResponseReturnValue:
    fields = post_fields(json_body(), partial=False)
    return the_post(actions.create_post(core(), user_id=current_user.id, fields=fields), 201)


@bp.get("/posts")
@login_required
def posts_list() -> ResponseReturnValue:
    status = queries.parse_status(request.args.get("status"))
    return jsonify(posts=[post_json(p) for p in queries.list_posts(current_user.id, status)])


@bp.get("/posts/<post_id>")
@login_required
def posts_get(post_id: str) -> ResponseReturnValue:
    return jsonify(post_json(queries.load_post(current_user.id, post_id, with_attempts=True), with_attempts=True))


@bp.patch("/posts/<post_id>")
@login_required
def posts_patch(post_id: str) -> ResponseReturnValue:
    fields = post_fields(json_body(), partial=True)
    actions.edit_post(core(), user_id=current_user.id, post_id=post_id, fields=fields)
    return the_post(post_id)


@bp.delete("/posts/<post_id>")
@login_required
def posts_delete(post_id: str) -> ResponseReturnValue:
    actions.delete_post(core(), user_id=current_user.id, post_id=post_id)
    return "", 204


@bp.post("/posts/<post_id>/schedule")
@login_required
def posts_schedule(post_id: str) -> ResponseReturnValue:
    when = requested_time(json_body(), current_user.time_zone)
    return scheduled_json(actions.schedule_post(core(), user_id=current_user.id, post_id=post_id, when=when,
                                                zone_name=current_user.time_zone))


@bp.post("/posts/<post_id>/unschedule")
@login_required
def posts_unschedule(post_id: str) -> ResponseReturnValue:
    actions.unschedule_post(core(), user_id=current_user.id, post_id=post_id)
    return jsonify(id=post_id, status="unscheduled")


@bp.post("/posts/<post_id>/publish-now")
@login_required
def posts_publish_now(post_id: str) -> ResponseReturnValue:
    return scheduled_json(actions.publish_now(core(), user_id=current_user.id, post_id=post_id,
                                              zone_name=current_user.time_zone))


@bp.post("/posts/<post_id>/retry")
@login_required
def posts_retry(post_id: str) -> ResponseReturnValue:
    return scheduled_json(actions.retry_post(core(), user_id=current_user.id, post_id=post_id,
                                             zone_name=current_user.time_zone))


@bp.post("/posts/<post_id>/duplicate")
@login_required
def posts_duplicate(post_id: str) -> ResponseReturnValue:
    return the_post(actions.duplicate_post(core(), user_id=current_user.id, post_id=post_id), 201)


@bp.post("/posts/<post_id>/confirm-published")
@login_required
def posts_confirm_published(post_id: str) -> ResponseReturnValue:
    """{linkedinPostUrl?: the post's address on LinkedIn} -> the post, now published."""
    data = optional_body()
    unknown = sorted(set(data) - CONFIRM_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown field {unknown[0]!r}: send only 'linkedinPostUrl' (optional).")
    url = data.get("linkedinPostUrl")
    if url is not None and not isinstance(url, str):
        raise InvalidInput("linkedinPostUrl must be a string: the post's address on LinkedIn.")
    actions.confirm_published(core(), user_id=current_user.id, post_id=post_id, post_url=url,
                              who=f"{current_user.email} (API)")
    return the_post(post_id)


@bp.post("/posts/<post_id>/resend")
@login_required
def posts_resend(post_id: str) -> ResponseReturnValue:
    """{scheduledAt?, timeZone?}: send an unconfirmed post again, now (no scheduledAt) or then."""
    data = optional_body()
    when = requested_time(data, current_user.time_zone) if data else None
    return scheduled_json(actions.resend_post(core(), user_id=current_user.id, post_id=post_id, when=when,
                                              zone_name=current_user.time_zone))
