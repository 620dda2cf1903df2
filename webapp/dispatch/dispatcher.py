"""Claim, send, record. Every alarm (local loop, QStash message, sweep) ends in `send` after
winning a claim; whatever happens, the try is recorded as an Attempt row."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from ..crypto import TokenDecryptError
from ..timeutil import iso_z
from .retry import RetryPolicy, SendResult, Verdict, decide
from .store import AttemptRecord, Claim, Store
from .webhook import WebhookClient

log = logging.getLogger("punctual.dispatch")


@dataclass(frozen=True)
class DispatchSettings:
    concurrency: int = 16
    lease: float = 90.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: Demo inbox mode: a missing LinkedIn connection does not block sending.
    demo_mode: bool = False
    batch: int = 200

    @property
    def max_lateness(self) -> float:
        return self.policy.max_lateness


@dataclass(frozen=True)
class Outcome:
    """What one alarm achieved for one post."""

    post_id: str
    #: published, failed, retrying, ignored, early
    result: str
    #: ignored: not_found, stale_version, cancelled, already_sent, in_progress, already_failed,
    #: lost_race; failed: rejected, unconfirmed, missed, gave_up, not_connected, token_expired
    reason: str | None = None
    message: str | None = None
    #: seconds until it makes sense to try again (early, retrying)
    retry_after: float | None = None
    http_status: int | None = None


@dataclass
class SweepReport:
    recovered: int = 0  # posts the sweep sent: missed due posts and stuck claims
    failed: int = 0  # posts failed as too late (missed) or unconfirmed after a crash
    enqueued: int = 0  # alarms (QStash messages) made for posts that had none
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.recovered + self.failed + self.enqueued

    def as_json(self) -> dict:
        return {"recovered": self.recovered, "failed": self.failed, "enqueued": self.enqueued,
                "total": self.total}


@dataclass(frozen=True)
class Credentials:
    person_urn: str | None
    access_token: str | None
    expires_at: datetime | None


class Dispatcher:
    def __init__(self, *, store: Store, webhook: WebhookClient, decrypt: Callable[[str], str],
                 settings: DispatchSettings, clock: Callable[[], datetime]):
        self.store = store
        self.webhook = webhook
        self.decrypt = decrypt
        self.settings = settings
        self.clock = clock

    # ------------------------------------------------------------------ entry points

    def dispatch_one(self, post_id: str, version: int, trigger: str) -> Outcome:
        """An alarm for one post version (QStash message, publish-now): claim it, then send."""
        now = self.clock()
        claim = self.store.claim(post_id=post_id, version=version, now=now)
        if claim is None:
            reason, due = self.store.explain(post_id=post_id, version=version, now=now)
            if due is not None:
                return Outcome(post_id, "early", reason, retry_after=(due - now).total_seconds())
            return Outcome(post_id, "ignored", reason)
        return self.send(claim, trigger)

    def dispatch_due(self, trigger: str = "local") -> list[Outcome]:
        """Claim every due post (in batches) and send them with bounded concurrency; wait for all."""
        outcomes: list[Outcome] = []
        while True:
            now = self.clock()
            claims = self.store.claim_due(now=now, limit=self.settings.batch, not_before=self.cutoff(now))
            if not claims:
                return outcomes
            outcomes += self.send_all(claims, trigger)

    def send_all(self, claims: list[Claim], trigger: str) -> list[Outcome]:
        if len(claims) == 1:
            return [self.send(claims[0], trigger)]
        with ThreadPoolExecutor(max_workers=min(self.settings.concurrency, len(claims)),
                                thread_name_prefix="punctual-send") as pool:
            return list(pool.map(lambda c: self.send(c, trigger), claims))

    def cutoff(self, now: datetime) -> datetime:
        """Posts due before this instant are too late to send (MAX_LATENESS)."""
        return now - timedelta(seconds=self.settings.max_lateness)

    # ------------------------------------------------------------------ one try

    def send(self, claim: Claim, trigger: str) -> Outcome:
        """Send a claimed post and record the outcome. Never raises for a webhook problem."""
        started = self.clock()
        if claim.scheduled_at < self.cutoff(started):
            return self._skip(claim, trigger, started, "missed",
                              f"Missed: this post was due more than {self.settings.max_lateness / 3600:g} h "
                              "ago, so it was not sent. Reschedule it to send it.")
        credentials, refusal = self._credentials(claim.connection, started)
        if refusal:
            return self._skip(claim, trigger, started, *refusal)
        try:
            result = self.webhook.send(self._payload(claim, credentials), claim.idempotency_key)
        except Exception as exc:  # a bug must not leave the post claimed until the lease runs out
            log.exception("send of post %s failed before an answer", claim.post_id)
            result = SendResult.no_answer(f"internal error: {type(exc).__name__}")
        finished = self.clock()
        verdict = decide(result, attempt=claim.attempt, scheduled_at=claim.scheduled_at,
                         now=finished, policy=self.settings.policy)
        return self._record(claim, trigger, started, finished, result, verdict, credentials)

    def _record(self, claim, trigger, started, finished, result: SendResult, verdict: Verdict,
                credentials: Credentials | None) -> Outcome:
        message = _redact(verdict.message, credentials)
        record = AttemptRecord(trigger=trigger, started_at=started, finished_at=finished,
                               outcome=verdict.outcome, http_status=result.status,
                               error=_redact(result.detail, credentials) or None)
        if verdict.action == "confirm":
            self.store.confirm(claim, record, urn=verdict.urn)
            log.info("post %s v%s published (%s, attempt %s, %d ms late)", claim.post_id, claim.version,
                     trigger, claim.attempt, (started - claim.scheduled_at).total_seconds() * 1000)
            return Outcome(claim.post_id, "published", http_status=result.status)
        if verdict.action == "retry_later":
            self.store.retry_later(claim, record, at=verdict.retry_at, message=message)
            log.warning("post %s v%s: %s", claim.post_id, claim.version, message)
            return Outcome(claim.post_id, "retrying", "retryable", message,
                           retry_after=(verdict.retry_at - finished).total_seconds(), http_status=result.status)
        self.store.fail(claim, record, kind=verdict.kind, message=message)
        log.warning("post %s v%s failed (%s): %s", claim.post_id, claim.version, verdict.kind, message)
        return Outcome(claim.post_id, "failed", verdict.kind, message, http_status=result.status)

    def _skip(self, claim: Claim, trigger: str, started: datetime, kind: str, message: str) -> Outcome:
        """Fail a claimed post without calling the webhook (too late, not connected, token expired)."""
        record = AttemptRecord(trigger=trigger, started_at=started, finished_at=self.clock(),
                               outcome="skipped", error=message)
        self.store.fail(claim, record, kind=kind, message=message)
        log.warning("post %s v%s not sent (%s)", claim.post_id, claim.version, kind)
        return Outcome(claim.post_id, "failed", kind, message)

    def _credentials(self, row, now: datetime) -> tuple[Credentials | None, tuple | None]:
        """The owner's LinkedIn credentials (read with the claim), or why the post cannot be sent."""
        if row is None:
            if self.settings.demo_mode:
                return Credentials(None, None, None), None
            return None, ("not_connected",
                          "Not sent: LinkedIn is not connected. Connect it in Settings, then retry this post.")
        try:
            token = self.decrypt(row.access_token_encrypted)
        except TokenDecryptError:
            return None, ("not_connected",
                          "Not sent: the stored LinkedIn token cannot be decrypted (the encryption key "
                          "changed). Reconnect LinkedIn in Settings, then retry this post.")
        credentials = Credentials(row.person_urn, token, row.expires_at)
        if row.expires_at is not None and row.expires_at <= now and not self.settings.demo_mode:
            return credentials, ("token_expired",
                                 f"Not sent: the LinkedIn token expired on {row.expires_at:%Y-%m-%d %H:%M} UTC. "
                                 "Reconnect LinkedIn in Settings, then retry this post.")
        return credentials, None

    @staticmethod
    def _payload(claim: Claim, credentials: Credentials) -> dict:
        return {
            "postId": claim.post_id,
            "userId": claim.user_id,
            "accessToken": credentials.access_token,
            "personUrn": credentials.person_urn,
            "content": claim.content,
            "imageUrl": claim.image_url,
            "scheduledAt": iso_z(claim.scheduled_at),
            "idempotencyKey": claim.idempotency_key,
        }

    # ------------------------------------------------------------------ the safety net

    def fail_missed(self, now: datetime) -> int:
        """Sweep step 1: scheduled posts past MAX_LATENESS fail as missed, never sent."""
        return len(self.store.miss_overdue(now=now, cutoff=self.cutoff(now)))

    def reclaim_stale(self, now: datetime, *, limit: int, trigger: str = "sweep") -> tuple[list[Claim], int]:
        """Sweep step 2: claims older than the lease (their dispatcher died). Returns the claims
        to resend — with the same idempotency key, the only resend there is — and how many were
        failed instead because resending would be too late."""
        resend, failed = [], 0
        for claim in self.store.reclaim_stale(now=now, lease=self.settings.lease, limit=limit):
            if claim.scheduled_at < self.cutoff(now) or claim.attempt > self.settings.policy.max_attempts:
                self._skip(claim, trigger, now, "unconfirmed",
                           "The dispatcher stopped while sending this post and it is now too late to resend. "
                           "It may have been published — check LinkedIn before retrying.")
                failed += 1
            else:
                log.warning("post %s v%s was claimed at %s and never finished; resending with the same key",
                            claim.post_id, claim.version, iso_z(claim.claimed_at))
                resend.append(claim)
        return resend, failed

    def sweep(self, *, trigger: str = "sweep", deadline: float | None = None,
              enqueue: Callable[[datetime], int] | None = None) -> SweepReport:
        """One whole sweep, sending synchronously (`flask recover`, the recover endpoint): fail
        too-late posts, recover stuck claims, send missed due posts, and (QStash) set alarms for
        posts that have none. Starts no new work after `deadline` (a time.monotonic() value)."""
        report = SweepReport()
        in_time = lambda: deadline is None or time.monotonic() < deadline  # noqa: E731
        now = self.clock()
        report.failed += self.fail_missed(now)
        resend, failed = self.reclaim_stale(now, limit=self.settings.batch, trigger=trigger)
        report.failed += failed
        if resend:
            report.outcomes += self.send_all(resend, trigger)
            report.recovered += len(resend)
        while in_time():
            now = self.clock()
            claims = self.store.claim_due(now=now, limit=self.settings.batch, not_before=self.cutoff(now))
            if not claims:
                break
            report.outcomes += self.send_all(claims, trigger)
            report.recovered += len(claims)
        if enqueue is not None and in_time():
            report.enqueued += enqueue(self.clock())
        return report


def _redact(text: str | None, credentials: Credentials | None) -> str | None:
    """Never store or show an access token, even if n8n echoes it back in an error."""
    if not text or credentials is None or not credentials.access_token:
        return text
    return text.replace(credentials.access_token, "[redacted]")
