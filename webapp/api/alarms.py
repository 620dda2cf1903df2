"""The endpoints QStash and the cron call (no login): /api/posts/dispatch, where a post version's
QStash message arrives at its second (signed), and /api/posts/recover, the safety-net sweep (the
cron secret, or a signed QStash schedule). Each ends in the dispatcher (claim -> fence -> send ->
record); the answer tells QStash whether to deliver again."""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeGuard

from flask import current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..config import MAX_ALARM_BODY
from ..crypto import constant_time_equal
from ..dispatch.alarms.qstash import DISPATCH_PATH, RECOVER_PATH
from ..dispatch.dispatcher import Outcome
from ..dispatch.errors import PunctualError
from ..runtime import core, signature_verifier
from ..web import bearer_token, csrf_exempt
from . import bp

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
def _malformed_message(exc: MalformedMessage) -> ResponseReturnValue:
    # 489 + this header is QStash's documented way to stop retrying a message.
    return jsonify(error=exc.message), 489, {"Upstash-NonRetryable-Error": "true"}


@dataclass(frozen=True)
class DispatchMessage:
    post_id: str
    user_id: int
    version: int


def _whole(value: object) -> TypeGuard[int]:
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


def bounded_body(limit: int) -> bytes:
    """The request's body, refused with 413 once it is over `limit` bytes: by its Content-Length
    before anything is read, or, streamed (chunked), as soon as more than `limit` bytes arrive.
    (request.get_data() would quietly truncate a streamed body at the limit instead.)"""
    request.max_content_length = limit
    stream, body = request.stream, bytearray()
    while chunk := stream.read(limit):  # a read past the limit raises RequestEntityTooLarge
        body += chunk
    return bytes(body)


def signed_body(path: str) -> bytes:
    """The raw body, once its Upstash-Signature is verified against APP_URL + path (exactly the URL
    QStash was given; request.url differs behind Vercel's proxy). Raises InvalidSignature (401).
    A body over MAX_ALARM_BODY is refused (413) before it is read: by its Content-Length, or, sent
    chunked, as soon as more than that has arrived — so an unsigned flood costs no memory."""
    body = bounded_body(MAX_ALARM_BODY)
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


def retry_later(body: dict[str, Any], seconds: float | None) -> ResponseReturnValue:
    seconds = max(1, math.ceil(seconds or 0))
    return jsonify({**body, "retryAfter": seconds}), 503, {"Retry-After": str(seconds)}


def database_unavailable() -> ResponseReturnValue:
    log.warning("the database is unreachable; asked the caller to retry in %d s", DATABASE_RETRY_AFTER)
    return retry_later({"error": "The database is unreachable right now; try again shortly."},
                       DATABASE_RETRY_AFTER)


def outcome_json(outcome: Outcome) -> ResponseReturnValue:
    """200 for anything final (published, failed, ignored); 503 + Retry-After for retry or early."""
    body = {"postId": outcome.post_id, "result": outcome.result, "reason": outcome.reason,
            "message": outcome.message, "httpStatus": outcome.http_status}
    if outcome.result in RETRY_LATER:
        return retry_later(body, outcome.retry_after)
    return jsonify(body)


@bp.post("/posts/dispatch")
@csrf_exempt
def posts_dispatch() -> ResponseReturnValue:
    """QStash delivers a post version's message here at its second."""
    message = dispatch_message(signed_body(DISPATCH_PATH))
    try:
        outcome = core().dispatcher.dispatch_one(message.post_id, message.version, trigger="qstash")
    except DATABASE_DOWN:
        return database_unavailable()
    return outcome_json(outcome)


def recover_json() -> ResponseReturnValue:
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
def posts_recover_get() -> ResponseReturnValue:
    """Vercel Cron (daily on Hobby) calls this with the cron secret."""
    require_cron_secret()
    return recover_json()


@bp.post("/posts/recover")
@csrf_exempt
def posts_recover_post() -> ResponseReturnValue:
    """The QStash schedule (every 5 minutes) calls this, signed."""
    signed_body(RECOVER_PATH)
    return recover_json()
