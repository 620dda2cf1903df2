"""The QStash alarm: one QStash message per post version, delivered at the post's second to the
signed dispatch endpoint; and the verification of QStash's signature on what it delivers.

The QStash SDK (and httpx under it) is imported only when a message is published or cancelled:
most serverless invocations only receive deliveries, and the SDK cost ~170 ms of every cold
start. Deliveries are verified with PyJWT directly, as the SDK itself does.

Database first: the store has committed the change before any method here is called, so a
QStash failure never undoes or fails a user's action. It is logged, the user is told the safety
net will send the post, and the sweep (`enqueue_missing`) publishes the message later. A message
is only an alarm clock: a stale, early, duplicate or cancelled-but-delivered one ends in a claim
that does nothing.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from ... import timeutil
from ...config import CONNECT_TIMEOUT, RECORD_MARGIN
from ..errors import PunctualError
from ..store import Change, Store
from . import AlarmResult

if TYPE_CHECKING:
    import httpx
    from qstash import QStash
    from qstash.http import RetryConfig

log = logging.getLogger("punctual.qstash")

DISPATCH_PATH = "/api/posts/dispatch"
RECOVER_PATH = "/api/posts/recover"
#: The fixed id of the QStash schedule that calls the recover endpoint (create-or-update).
RECOVER_SCHEDULE_ID = "punctual-recover"

#: The SDK's own defaults (600 s read timeout, 5 retries with growing sleeps) could hold a user's
#: request for many minutes. A publish or cancel normally answers in well under a second; these
#: bound one SDK call to about 2 x 4 s. Retrying is safe: a publish carries its deduplication id,
#: and a cancel of a message already cancelled answers 404, which is fine.
REQUEST_TIMEOUT_S = 4.0
REQUEST_CONNECT_TIMEOUT_S = 2.0
REQUEST_RETRY: RetryConfig = {"retries": 1, "backoff": lambda retry: 200.0}  # milliseconds
#: Seconds a signature may be ahead of (or behind) our clock (iat / nbf / exp) and still be accepted.
CLOCK_TOLERANCE = 5
#: A post is published to QStash only when it is this much inside QSTASH_MAX_DELAY, so clock skew
#: between us and QStash can never turn a publish into a "delay too long" refusal.
HORIZON_MARGIN = timedelta(seconds=60)
#: After this many publishes in a row fail, a sweep stops trying (QStash is down; next sweep retries).
GIVE_UP_AFTER = 3
ENQUEUE_BATCH = 100

SAFETY_NET_WARNING = ("Scheduled. The alarm for this post could not be set right now; the safety "
                      "net will send it at its time.")


class QStashUnavailable(PunctualError):
    """QStash could not be reached or refused the request; the safety net covers for it."""

    status = 503


class InvalidSignature(PunctualError):
    """This request is not signed by QStash: its Upstash-Signature is missing or invalid."""

    status = 401


@dataclass(frozen=True)
class QStashSettings:
    token: str = field(repr=False)  # never in a log line or a traceback
    app_url: str  # the public base URL; QStash signs APP_URL + the path exactly
    base_url: str | None = None  # QSTASH_URL (a local QStash, or a test stand-in)
    retries: int = 3
    max_delay: float = 7 * 24 * 3600.0
    #: Upstash-Timeout: how long QStash waits for the dispatch endpoint to answer.
    delivery_timeout: int = 45

    @property
    def dispatch_url(self) -> str:
        return self.app_url + DISPATCH_PATH

    @property
    def recover_url(self) -> str:
        return self.app_url + RECOVER_PATH


def delivery_timeout_for(n8n_timeout: float) -> int:
    """Seconds QStash should wait for the dispatch endpoint: one webhook call's deadline, the time
    to record its outcome, and room for the claim and the signature check."""
    return math.ceil(CONNECT_TIMEOUT + n8n_timeout + RECORD_MARGIN + 5)


def request_timeout() -> httpx.Timeout:
    """The bound on one SDK call (see REQUEST_TIMEOUT_S)."""
    import httpx

    return httpx.Timeout(REQUEST_TIMEOUT_S, connect=REQUEST_CONNECT_TIMEOUT_S)


def new_client(settings: QStashSettings, *, timeout: httpx.Timeout | None = None,
               retry: RetryConfig = REQUEST_RETRY) -> QStash:
    """The official SDK client, with bounded retries and timeouts for a request path."""
    import httpx
    from qstash import QStash

    client = QStash(settings.token, retry=retry, base_url=settings.base_url)
    # The SDK has no public timeout setting: it builds an httpx.Client with a 600 s timeout. Set
    # that client's timeout through httpx's public `timeout` property. If a new SDK version
    # moves the client, refuse to use it (the publish fails, is logged, and the sweep covers)
    # rather than hang requests for ten minutes.
    http_client = getattr(client.http, "_client", None)
    if not isinstance(http_client, httpx.Client):
        raise RuntimeError("This version of the qstash SDK keeps its HTTP client elsewhere; "
                           "Punctual cannot bound its timeouts. Use qstash 3.x.")
    http_client.timeout = timeout or request_timeout()
    return client


def describe_failure(exc: BaseException, token: str) -> str:
    """A short, loggable description of an SDK failure that can never contain the token."""
    text = " ".join(str(exc).split())[:300]
    if token:
        text = text.replace(token, "[redacted]")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def is_not_found(exc: Exception) -> bool:
    """QStash answered 404 (the SDK raises a bare QStashError that only says so in its text)."""
    from qstash.errors import QStashError

    return isinstance(exc, QStashError) and "status: 404" in str(exc)


def _time_of(change: Change) -> datetime:
    """The instant a schedule's change is for (a schedule always has one)."""
    if change.scheduled_at is None:
        raise ValueError(f"post {change.post_id} v{change.version} has no time to publish a message for")
    return change.scheduled_at


class QStashAlarm:
    """Publishes and cancels one QStash message per post version (see the module docstring)."""

    name = "qstash"

    def __init__(self, *, store: Store, clock: Callable[[], datetime], settings: QStashSettings,
                 client: QStash | None = None):
        self.store = store
        self.clock = clock
        self.settings = settings
        self._client = client
        self._client_lock = threading.Lock()

    @property
    def client(self) -> QStash:
        """Made on first use: a process that only receives deliveries (most serverless
        invocations) never pays for the HTTP client and its TLS setup."""
        with self._client_lock:
            if self._client is None:
                self._client = new_client(self.settings)
            return self._client

    # ------------------------------------------------------------------ the Alarm protocol

    def scheduled(self, change: Change, *, immediate: bool = False) -> AlarmResult:
        """Cancel the previous version's message, then publish this version's (inside the horizon).
        Publish-now needs nothing special: its message is due at once."""
        self._cancel(change.old_message_id, change.post_id)
        if _time_of(change) > self.horizon(self.clock()):
            log.info("post %s v%s is beyond the %g-day QStash horizon; the sweep publishes it later",
                     change.post_id, change.version, self.settings.max_delay / 86400)
            return AlarmResult()
        try:
            return AlarmResult(message_id=self._publish(change))
        except QStashUnavailable:
            return AlarmResult(warning=SAFETY_NET_WARNING)

    def unscheduled(self, change: Change) -> None:
        """The version guard already makes the old message harmless; cancelling saves a delivery."""
        self._cancel(change.old_message_id, change.post_id)

    def enqueue_missing(self, now: datetime, *, deadline: float | None = None) -> int:
        """Sweep step: publish messages for scheduled posts inside the horizon that have none.
        Stops at `deadline` (time.monotonic()) or when QStash keeps failing; returns how many."""
        until = self.horizon(now)
        published, failures_in_a_row, seen = 0, 0, set()
        while True:
            batch = [c for c in self.store.missing_alarms(until=until, limit=ENQUEUE_BATCH)
                     if (c.post_id, c.version) not in seen]
            if not batch:
                return published
            for change in batch:
                if deadline is not None and time.monotonic() >= deadline:
                    return published
                seen.add((change.post_id, change.version))
                try:
                    self._publish(change)
                except QStashUnavailable:
                    failures_in_a_row += 1
                    if failures_in_a_row >= GIVE_UP_AFTER:
                        log.warning("QStash failed %d publishes in a row; the next sweep tries again",
                                    failures_in_a_row)
                        return published
                    continue
                failures_in_a_row = 0
                published += 1

    # ------------------------------------------------------------------ QStash calls

    def horizon(self, now: datetime) -> datetime:
        """Posts due up to this instant get their message now; later ones wait for a sweep."""
        return now + timedelta(seconds=self.settings.max_delay) - HORIZON_MARGIN

    def _publish(self, change: Change) -> str:
        """Publish this version's message and remember its id. Raises QStashUnavailable."""
        try:
            from qstash.message import PublishResponse

            response = self.client.message.publish_json(
                url=self.settings.dispatch_url,
                body={"postId": change.post_id, "userId": change.user_id, "version": change.version},
                not_before=timeutil.ceil_seconds(_time_of(change)),
                retries=self.settings.retries,
                deduplication_id=f"{change.post_id}-{change.version}",
                timeout=f"{self.settings.delivery_timeout}s",
            )
            if not isinstance(response, PublishResponse):  # a URL group's answer: not what was asked
                raise TypeError(f"QStash answered a publish with {type(response).__name__}")
        except Exception as exc:  # QStashError, httpx errors, a malformed answer: never the user's problem
            log.warning("could not publish the QStash message for post %s v%s (%s); the sweep will",
                        change.post_id, change.version, describe_failure(exc, self.settings.token))
            raise QStashUnavailable() from None
        try:
            # False when the post moved on meanwhile (rescheduled, unscheduled, or already claimed
            # because the message was due at once): the message is then stale or spent, harmless.
            self.store.set_message_id(post_id=change.post_id, version=change.version,
                                      message_id=response.message_id)
        except SQLAlchemyError as exc:
            # The message exists; the next sweep publishes again and the deduplication id hands
            # back this same message, whose id is stored then.
            log.warning("could not store QStash message %s of post %s (%s)", response.message_id,
                        change.post_id, type(exc).__name__)
        log.info("post %s v%s: QStash message %s, not before %s%s", change.post_id, change.version,
                 response.message_id, timeutil.iso_z(change.scheduled_at),
                 " (deduplicated)" if response.deduplicated else "")
        return response.message_id

    def _cancel(self, message_id: str | None, post_id: str) -> None:
        """Best effort: a message that survives is stale, and its claim will do nothing."""
        if not message_id:
            return
        try:
            self.client.message.cancel(message_id)
        except Exception as exc:
            if is_not_found(exc):
                return  # already delivered, or gone
            log.warning("could not cancel QStash message %s of post %s (%s); it will be ignored if it "
                        "arrives", message_id, post_id, describe_failure(exc, self.settings.token))


# ---------------------------------------------------------------------- receiving

class SignatureVerifier:
    """Checks an Upstash-Signature with the current signing key, then the next one (key roll).

    The signature is a JWT (HS256) whose claims QStash's SDKs check: issuer "Upstash", `sub` equal
    to the URL QStash was given (exactly), `exp` and `nbf` present, and `body` the base64url
    SHA-256 of the raw body (trailing "=" ignored). This is the SDK's own `verify_with_key`, done
    with PyJWT here for two reasons: importing the SDK cost ~170 ms of a cold start, and qstash
    3.4.0 hands its clock tolerance to PyJWT where PyJWT ignores it (a signature a fraction of a
    second ahead of our clock was refused, and QStash only retries ~12 s later). Here the
    tolerance is PyJWT's `leeway`, applied to iat, nbf and exp.
    """

    def __init__(self, *, current_key: str | None, next_key: str | None,
                 clock_tolerance: float | None = None):
        self._keys = (current_key, next_key) if current_key and next_key else None
        self.clock_tolerance = CLOCK_TOLERANCE if clock_tolerance is None else clock_tolerance

    def verify(self, *, signature: str | None, body: bytes, url: str) -> None:
        """Raises InvalidSignature unless `signature` signs exactly `body` for exactly `url`."""
        keys = self._keys
        if keys is None:
            log.error("a QStash delivery was refused: QSTASH_CURRENT_SIGNING_KEY and "
                      "QSTASH_NEXT_SIGNING_KEY must both be set")
            raise InvalidSignature()
        if not signature:
            raise InvalidSignature("This request has no Upstash-Signature header; only QStash may call it.")
        errors = [error for key in keys if (error := self._error(key, signature, body, url))]
        if len(errors) == len(keys):
            log.warning("refused a request to %s with an invalid QStash signature (%s)", url,
                        "; ".join(errors)[:300])
            raise InvalidSignature()

    def _error(self, key: str, signature: str, body: bytes, url: str) -> str | None:
        """None if `key` verifies the signature, else why not."""
        import jwt

        try:
            claims = jwt.decode(signature, key, algorithms=["HS256"], issuer="Upstash",
                                leeway=self.clock_tolerance, options={"require": ["iss", "sub", "exp", "nbf"]})
        except jwt.PyJWTError as exc:
            return f"{type(exc).__name__}: {exc}"
        if claims.get("sub") != url:
            return f"signed for {str(claims.get('sub'))[:200]!r}, not for {url!r}"
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
        claimed = claims.get("body")
        if not isinstance(claimed, str) or claimed.rstrip("=") != digest:
            return "the body is not the one that was signed"
        return None
