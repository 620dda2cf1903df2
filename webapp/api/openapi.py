"""The OpenAPI 3.1 description of everything under /api, served at GET /api/openapi.json.

To describe a new route, add one entry to OPERATIONS: its path in OpenAPI form (`{post_id}` for
Flask's `<post_id>`), its method, and `operation(...)` with its summary, who may call it, its body
schema and its answers (`answer(...)` for a JSON one, `errors(...)` for the {"error": sentence}
ones). tests/test_openapi.py fails while a Flask route under /api is missing here or an entry
here has no route, and every API test checks its answers against these schemas.

Built once, on the first request for it (nothing here runs at import beyond plain literals)."""

from __future__ import annotations

from functools import cache
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from ..dispatch.states import PostStatus
from . import bp
from .alarms import LARGEST

Schema = dict[str, Any]
Security = list[dict[str, list[str]]]

#: Who may call: an API token, or the browser's session cookie (writes also need X-CSRFToken).
USER_READ: Security = [{"bearerToken": []}, {"sessionCookie": []}]
USER_WRITE: Security = [{"bearerToken": []}, {"sessionCookie": [], "csrfToken": []}]
QSTASH: Security = [{"upstashSignature": []}]
CRON: Security = [{"cronSecret": []}]
PUBLIC: Security = []

ERROR_MEANINGS = {
    400: "Bad input (a sentence says what is wrong); nothing was changed.",
    401: "Not authenticated.",
    404: "No such post, or not yours (the two look the same).",
    409: "The post's status does not allow this (the sentence says why).",
    413: "The body is too large (at most 128 KiB; 4 KB on the dispatch and recover endpoints), refused "
         "before it is read.",
    489: "The message is malformed; QStash must not deliver it again (Upstash-NonRetryable-Error).",
    503: "The database is unreachable right now; try again after Retry-After seconds.",
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


INSTANT: Schema = {"type": "string", "format": "date-time",
                   "description": "ISO 8601 in UTC with a Z, millisecond precision."}
WHOLE: Schema = {"type": "integer"}
TEXT: Schema = {"type": "string"}


def obj(properties: dict[str, Schema], *, required: list[str] | None = None, description: str = "") -> Schema:
    """A JSON object with exactly these properties (answers carry every one unless `required` says)."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties) if required is None else required,
                      "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


def json_content(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def answer(description: str, schema: Schema | None = None, *, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """One documented answer; without a schema it has no body (204)."""
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = json_content(schema)
    if headers:
        response["headers"] = headers
    return response


def errors(*statuses: int) -> dict[str, dict[str, Any]]:
    """The {"error": sentence} answers with these statuses."""
    return {str(status): answer(ERROR_MEANINGS[status], ref("Error")) for status in statuses}


RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before delivering again.",
                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
DATABASE_DOWN = {"503": answer(ERROR_MEANINGS[503], ref("ErrorRetry"), headers=RETRY_AFTER)}

POST_ID = {"name": "post_id", "in": "path", "required": True, "description": "The post's id.",
           "schema": {"type": "string"}}


def operation(operation_id: str, summary: str, *, security: Security,
              responses: dict[str, Any], body: Schema | None = None, body_required: bool = True,
              path_params: bool = False, parameters: list[dict[str, Any]] | None = None,
              description: str = "") -> dict[str, Any]:
    """One operation. Every operation that needs a caller also answers 401."""
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "security": security,
                          "responses": responses}
    if description:
        op["description"] = description
    params = ([POST_ID] if path_params else []) + (parameters or [])
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": body_required, "content": json_content(body)}
    return op


def user_operation(operation_id: str, summary: str, *, write: bool, ok: dict[str, Any], on_post: bool,
                   body: Schema | None = None, conflict: bool = False, **kwargs: Any) -> dict[str, Any]:
    """A call of the JSON API over posts, made by a user (token, or session cookie)."""
    statuses = [400, 401] if (write or kwargs.get("parameters")) else [401]
    if on_post:
        statuses.append(404)
    if conflict:
        statuses.append(409)
    return operation(operation_id, summary, security=USER_WRITE if write else USER_READ,
                     responses={**ok, **errors(*sorted(statuses))}, body=body, path_params=on_post, **kwargs)


def _components() -> dict[str, Any]:
    statuses = [s.value for s in PostStatus]
    post = {
        "id": TEXT,
        "status": ref("Status"),
        "content": TEXT,
        "imageUrl": nullable(TEXT),
        "scheduledAt": nullable(INSTANT),
        "publishedAt": nullable(INSTANT),
        "errorMessage": nullable(TEXT),
        "attemptCount": WHOLE,
        "qstashMessageId": nullable(TEXT),
        "linkedinPostUrn": nullable(TEXT),
        "createdAt": INSTANT,
        "updatedAt": INSTANT,
    }
    return {
        "securitySchemes": {
            "bearerToken": {"type": "http", "scheme": "bearer",
                            "description": "An API token (Settings → API tokens, or `flask tokens create`). "
                                           "A request with an Authorization header is authenticated by it "
                                           "alone, and needs no CSRF token."},
            "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                              "description": "The browser's login session (Flask's signed cookie)."},
            "csrfToken": {"type": "apiKey", "in": "header", "name": "X-CSRFToken",
                          "description": "With the session cookie, every write needs the page's CSRF token."},
            "upstashSignature": {"type": "apiKey", "in": "header", "name": "Upstash-Signature",
                                 "description": "QStash's signature (a JWT over APP_URL + path and the body's "
                                                "SHA-256), checked against QSTASH_CURRENT/NEXT_SIGNING_KEY."},
            "cronSecret": {"type": "http", "scheme": "bearer", "bearerFormat": "CRON_SECRET",
                           "description": "Vercel Cron's 'Authorization: Bearer <CRON_SECRET>'."},
        },
        "schemas": {
            "Error": obj({"error": {"type": "string", "minLength": 1,
                                    "description": "A sentence saying what is wrong."}}),
            "ErrorRetry": obj({"error": {"type": "string", "minLength": 1},
                               "retryAfter": {"type": "integer", "minimum": 1}}),
            "Status": {"type": "string", "enum": statuses},
            "Attempt": obj({
                "scheduleVersion": WHOLE,
                "trigger": {"type": "string", "description": "qstash, local, sweep, manual or recovery."},
                "startedAt": INSTANT,
                "finishedAt": nullable(INSTANT),
                "outcome": {"type": "string", "description": "published, retry, failed, …"},
                "httpStatus": nullable(WHOLE),
                "error": nullable(TEXT),
                "durationMs": nullable(WHOLE),
            }, description="One try to send the post to the webhook."),
            "Post": obj(post),
            "PostWithAttempts": obj({**post, "attempts": {"type": "array", "items": ref("Attempt")}},
                                    description="A post and its attempts, oldest first."),
            "PostList": obj({"posts": {"type": "array", "items": ref("Post")}}),
            "NewPost": obj({
                "content": {"type": "string", "pattern": "\\S",
                            "description": "The text (at most 3,000 characters once trimmed; CRLF counts as one)."},
                "imageUrl": {"type": ["string", "null"],
                             "description": "An http:// or https:// address (at most 2,048 characters), "
                                            "or null / \"\" for none."},
            }, required=["content"]),
            "PostChange": {**obj({
                "content": {"type": "string", "pattern": "\\S"},
                "imageUrl": {"type": ["string", "null"]},
            }, required=[]), "minProperties": 1, "description": "The fields to change (at least one)."},
            "ScheduleRequest": obj({
                "scheduledAt": {"type": "string", "description":
                                "ISO 8601 with an offset (2026-12-01T09:00:00+01:00, …Z), or a local "
                                "date-time (2026-12-01T09:00) read in timeZone. Not in the past, at most a "
                                "year ahead, not a local time the clocks skip."},
                "timeZone": {"type": "string", "description": "IANA zone; default: the account's."},
            }, required=["scheduledAt"]),
            "Scheduled": obj({
                "id": TEXT,
                "status": {"const": "scheduled"},
                "scheduledAt": INSTANT,
                "messageId": nullable(TEXT),
                "note": {"type": "string", "description": "Which instant an ambiguous local time became."},
                "warning": TEXT,
                "linkedinWarning": TEXT,
            }, required=["id", "status", "scheduledAt", "messageId"]),
            "Unscheduled": obj({"id": TEXT, "status": {"const": "unscheduled"}}),
            "ConfirmPublished": obj({
                "linkedinPostUrl": {"type": ["string", "null"], "description":
                                    "The post's address on LinkedIn (…/feed/update/urn:li:share:…/, "
                                    "…/posts/…-activity-…), or its URN; its URN is stored."},
            }, required=[]),
            "ResendRequest": {"oneOf": [{"type": "object", "maxProperties": 0, "description": "Send it now."},
                                        ref("ScheduleRequest")]},
            "DispatchMessage": {
                "type": "object", "required": ["postId", "userId", "version"],
                "properties": {"postId": {"type": "string", "minLength": 1, "maxLength": 64},
                               "userId": {"type": "integer", "minimum": -LARGEST, "maximum": LARGEST},
                               "version": {"type": "integer", "minimum": 1, "maximum": LARGEST}},
                "description": "The body QStash delivers (what Punctual published for the post version).",
            },
            "Outcome": obj({
                "postId": TEXT,
                "result": {"type": "string", "enum": ["published", "failed", "ignored", "error"]},
                "reason": nullable(TEXT),
                "message": nullable(TEXT),
                "httpStatus": nullable(WHOLE),
            }, description="What this delivery achieved (final: QStash stops)."),
            "OutcomeLater": obj({
                "postId": TEXT,
                "result": {"type": "string", "enum": ["retrying", "early"]},
                "reason": nullable(TEXT),
                "message": nullable(TEXT),
                "httpStatus": nullable(WHOLE),
                "retryAfter": {"type": "integer", "minimum": 1},
            }, description="Deliver again after retryAfter seconds."),
            "SweepReport": obj({"recovered": WHOLE, "failed": WHOLE, "enqueued": WHOLE, "total": WHOLE}),
        },
    }


STATUS_QUERY = {"name": "status", "in": "query", "required": False,
                "description": "Only posts with this status (empty: all).",
                "schema": {"type": "string", "enum": ["", *(s.value for s in PostStatus)]}}
SCHEDULED = {"200": answer("Scheduled (or rescheduled).", ref("Scheduled"))}

#: (path, method) -> operation: every route under /api, and nothing else.
OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("/api/openapi.json", "get"): operation(
        "openapi", "This document.", security=PUBLIC,
        responses={"200": answer("The OpenAPI 3.1 description of /api.", {"type": "object"})}),
    ("/api/posts", "get"): user_operation(
        "listPosts", "The user's posts: scheduled soonest first, then the rest newest first.", write=False,
        on_post=False, parameters=[STATUS_QUERY], ok={"200": answer("The posts.", ref("PostList"))}),
    ("/api/posts", "post"): user_operation(
        "createPost", "Create a draft.", write=True, on_post=False, body=ref("NewPost"),
        ok={"201": answer("The new draft.", ref("Post"))}),
    ("/api/posts/{post_id}", "get"): user_operation(
        "getPost", "One post with its attempts.", write=False, on_post=True,
        ok={"200": answer("The post.", ref("PostWithAttempts"))}),
    ("/api/posts/{post_id}", "patch"): user_operation(
        "editPost", "Change a post's text or image (not while it is being sent or once published).",
        write=True, on_post=True, conflict=True, body=ref("PostChange"),
        ok={"200": answer("The post as it is now.", ref("Post"))}),
    ("/api/posts/{post_id}", "delete"): user_operation(
        "deletePost", "Delete a post (a published one only from Punctual; LinkedIn keeps it).",
        write=True, on_post=True, conflict=True, ok={"204": answer("Deleted.")}),
    ("/api/posts/{post_id}/schedule", "post"): user_operation(
        "schedulePost", "Schedule, reschedule (a scheduled post) or retry (a failed one) at a time.",
        write=True, on_post=True, conflict=True, body=ref("ScheduleRequest"), ok=SCHEDULED),
    ("/api/posts/{post_id}/unschedule", "post"): user_operation(
        "unschedulePost", "Make a scheduled post a draft again.", write=True, on_post=True, conflict=True,
        ok={"200": answer("Unscheduled.", ref("Unscheduled"))}),
    ("/api/posts/{post_id}/publish-now", "post"): user_operation(
        "publishNow", "Send a draft, failed or scheduled post now.", write=True, on_post=True, conflict=True,
        ok=SCHEDULED),
    ("/api/posts/{post_id}/retry", "post"): user_operation(
        "retryPost", "Send a failed post again now.", write=True, on_post=True, conflict=True, ok=SCHEDULED),
    ("/api/posts/{post_id}/duplicate", "post"): user_operation(
        "duplicatePost", "A new draft with the post's text and image.", write=True, on_post=True,
        ok={"201": answer("The new draft.", ref("Post"))}),
    ("/api/posts/{post_id}/confirm-published", "post"): user_operation(
        "confirmPublished", "An unconfirmed post is on LinkedIn after all: mark it published.",
        write=True, on_post=True, conflict=True, body=ref("ConfirmPublished"), body_required=False,
        ok={"200": answer("The post, now published.", ref("Post"))},
        description="Only for a post that failed as unconfirmed (n8n may have published it); an "
                    "attempt row records who confirmed it."),
    ("/api/posts/{post_id}/resend", "post"): user_operation(
        "resendPost", "An unconfirmed post is not on LinkedIn: send it again, now or at a time.",
        write=True, on_post=True, conflict=True, body=ref("ResendRequest"), body_required=False,
        ok=SCHEDULED,
        description="Only for a post that failed as unconfirmed, once its owner checked LinkedIn: a new "
                    "schedule version, so a new idempotency key."),
    ("/api/posts/dispatch", "post"): operation(
        "dispatchPost", "QStash delivers a post version's message at its second.", security=QSTASH,
        body=ref("DispatchMessage"),
        description="The answer tells QStash what to do: 200 done, 503 + Retry-After deliver again, 489 never.",
        responses={"200": answer("Done: the outcome is final.", ref("Outcome")),
                   "503": answer("Deliver again after Retry-After seconds (early, n8n busy, database down).",
                                 {"oneOf": [ref("OutcomeLater"), ref("ErrorRetry")]}, headers=RETRY_AFTER),
                   **errors(401, 489)}),
    ("/api/posts/recover", "get"): operation(
        "recoverCron", "The safety-net sweep, called by Vercel Cron.", security=CRON,
        responses={"200": answer("What the sweep did.", ref("SweepReport")), **errors(401), **DATABASE_DOWN}),
    ("/api/posts/recover", "post"): operation(
        "recoverSigned", "The safety-net sweep, called by a signed QStash schedule.", security=QSTASH,
        responses={"200": answer("What the sweep did.", ref("SweepReport")), **errors(401), **DATABASE_DOWN}),
}


@cache
def document() -> dict[str, Any]:
    components = _components()
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), op in OPERATIONS.items():
        if method in ("post", "patch", "put"):  # a body over MAX_CONTENT_LENGTH, on any of them
            op = {**op, "responses": {**op["responses"], **errors(413)}}
        paths.setdefault(path, {})[method] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Punctual API", "version": "1",
                 "description": "Schedule LinkedIn posts to the second. Times are ISO 8601 in UTC with a Z; "
                                "fields are camelCase; every error is {\"error\": sentence}."},
        "paths": paths,
        "components": components,
    }


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    return jsonify(document())
