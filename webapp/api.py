"""The JSON API (camelCase, ISO 8601 UTC with Z). Session cookie + X-CSRFToken, or a Bearer token."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user, login_required

from . import queries
from .dispatch import actions
from .dispatch.errors import InvalidInput
from .models import Attempt, Post
from .timeutil import iso_z
from .validation import post_fields

bp = Blueprint("api", __name__, url_prefix="/api")


def core() -> actions.Core:
    return current_app.extensions["punctual"]


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
