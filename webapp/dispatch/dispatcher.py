"""Claim → fence → send → record. Every alarm (local loop, QStash message, sweep) ends in `send`
after winning a claim; whatever happens, the try is recorded as an Attempt row.

The time bounds that make "never twice" hold while n8n is slow:

- **No queue of claims.** A path claims only as many posts as it has senders free to start them
  now (`fill`, with a `SendPool` reservation), so a claim never ages in a queue.
- **A fence before every call.** Right before the webhook call, one guarded UPDATE confirms the
  claim is still the current one and restarts its lease (`Store.fence`); a claim that was taken
  over is not sent, and nothing is recorded over the newer claim.
- **A deadline on every call.** The webhook call ends within `webhook.deadline` seconds, however
  the server dribbles its answer; DISPATCH_LEASE is longer than that plus RECORD_MARGIN.
- **No lost verdicts.** An outcome the database refuses is held and written again with backoff,
  renewing the lease meanwhile (`_persist`). If the process dies, the lease recovers the post.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from ..config import RECORD_MARGIN
from ..crypto import TokenDecryptError
from ..timeutil import iso_z
from .readiness import UNDECRYPTABLE, Readiness, not_sent, readiness
from .retry import RetryPolicy, SendResult, Verdict, decide, unconfirmed
from .senders import SendPool
from .store import AttemptRecord, Claim, Store
from .webhook import Webhook

log = logging.getLogger("punctual.dispatch")

#: The first wait before writing a held outcome again; it doubles up to a quarter of the lease.
HOLD_FIRST = 0.1
#: In a backlog, a claim waits up to CLAIM_LINGER seconds for a quarter of the senders to be free,
#: so posts are claimed a few per statement instead of one by one (Dispatcher.fill). Only a backlog
#: waits: with a quarter of the senders free, a due post is claimed at once.
CLAIM_BATCH_SHARE = 4
CLAIM_LINGER = 0.003

#: How many owners' decrypted tokens a dispatcher keeps between sends.
TOKENS_KEPT = 256
#: A source of claims: claim up to `limit` posts, return the claims.
Source = Callable[[int], list[Claim]]

# The sentences a post is failed with when it is not sent at all.
MISSED = ("Missed: this post was not sent in time and is now too late to be useful, so it was not "
          "sent. Reschedule it to send it.")
ABANDONED = ("The dispatcher stopped while sending this post and it is now too late to resend. "
             "It may have been published — check LinkedIn before retrying.")
#: The post's error_kind when the owner's LinkedIn token cannot carry it (readiness.py words why).
NOT_READY_KIND = {Readiness.NOT_CONNECTED: "not_connected", Readiness.EXPIRED: "token_expired"}


@dataclass(frozen=True)
class DispatchSettings:
    concurrency: int = 16
    lease: float = 90.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    #: Demo inbox mode: a missing LinkedIn connection does not block sending.
    demo_mode: bool = False

    @property
    def max_lateness(self) -> float:
        return self.policy.max_lateness


@dataclass(frozen=True)
class Outcome:
    """What one alarm achieved for one post."""

    post_id: str
    #: published, failed, retrying, ignored, early, error
    result: str
    #: ignored: not_found, stale_version, cancelled, already_sent, in_progress, already_failed,
    #: lost_race, taken_over; failed: rejected, unconfirmed, missed, gave_up, not_connected,
    #: token_expired; error: internal (logged; the lease recovers the post)
    reason: str | None = None
    message: str | None = None
    #: seconds until it makes sense to try again (early, retrying)
    retry_after: float | None = None
    http_status: int | None = None
    #: failed without calling the webhook (too late, not connected, abandoned)
    skipped: bool = False


@dataclass
class SweepReport:
    recovered: int = 0  # posts the sweep tried to send: missed due posts and stuck claims
    failed: int = 0  # posts failed as too late (missed) or unconfirmed after a crash, not sent
    enqueued: int = 0  # alarms (QStash messages) made for posts that had none
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.recovered + self.failed + self.enqueued

    def as_json(self) -> dict[str, int]:
        return {"recovered": self.recovered, "failed": self.failed, "enqueued": self.enqueued,
                "total": self.total}


@dataclass(frozen=True)
class Credentials:
    person_urn: str | None
    access_token: str | None
    expires_at: datetime | None


class Dispatcher:
    def __init__(self, *, store: Store, webhook: Webhook, decrypt: Callable[[str], str],
                 settings: DispatchSettings, clock: Callable[[], datetime],
                 sleep: Callable[[float], None] = time.sleep):
        self.store = store
        self.webhook = webhook
        self.decrypt = decrypt
        #: ciphertext -> token: a burst decrypts each owner's token once, not once per post (a
        #: reconnect stores a new ciphertext, so a stale entry is never used). Bounded.
        self._tokens: dict[str, str] = {}
        self.settings = settings
        self.clock = clock
        self.sleep = sleep

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
        """Send every post that is due now, `concurrency` at a time; wait for all of them."""
        return self.drain([self.due], trigger)

    def sweep(self, *, trigger: str = "sweep", deadline: float | None = None,
              enqueue: Callable[[datetime], int] | None = None) -> SweepReport:
        """One whole sweep, waiting for its sends (`flask recover`, the recover endpoint): fail
        too-late posts, resend stuck claims, send missed due posts, and (QStash) set alarms for
        posts that have none. With a `deadline` (a time.monotonic() value), no call starts that
        could not finish before it."""
        report = SweepReport(failed=self.fail_missed(self.clock()))
        report.outcomes = self.drain([self.stale, self.due], trigger, deadline=deadline)
        for outcome in report.outcomes:
            if outcome.skipped and outcome.reason in ("missed", "unconfirmed"):
                report.failed += 1
            elif outcome.result != "ignored":
                report.recovered += 1
        if enqueue is not None and (deadline is None or time.monotonic() < deadline):
            report.enqueued += enqueue(self.clock())
        return report

    def cutoff(self, now: datetime) -> datetime:
        """Posts due before this instant are too late to send (MAX_LATENESS)."""
        return now - timedelta(seconds=self.settings.max_lateness)

    # ------------------------------------------------------------------ claiming

    def due(self, limit: int) -> list[Claim]:
        """Source: claim up to `limit` due posts (those past MAX_LATENESS are left to fail_missed)."""
        now = self.clock()
        return self.store.claim_due(now=now, limit=limit, not_before=self.cutoff(now))

    def stale(self, limit: int) -> list[Claim]:
        """Source: take over up to `limit` claims older than the lease (their claimer died)."""
        return self.store.reclaim_stale(now=self.clock(), lease=self.settings.lease, limit=limit)

    def fail_missed(self, now: datetime) -> int:
        """Scheduled posts past MAX_LATENESS fail as missed, never sent."""
        return len(self.store.miss_overdue(now=now, cutoff=self.cutoff(now), message=MISSED))

    def fill(self, pool: SendPool, source: Source, trigger: str,
             on_outcome: Callable[[Outcome], object] | None = None) -> tuple[int, bool]:
        """Claim from `source` as many posts as `pool` has free senders — never more: a claim must
        not wait for a sender while its lease runs — and start sending each at once.
        Returns (how many were claimed, whether more may be waiting)."""
        pool.gather(max(1, pool.size // CLAIM_BATCH_SHARE), CLAIM_LINGER)
        free = pool.reserve()
        if not free:
            return 0, True
        try:
            claims = source(free)
        except BaseException:
            pool.release(free)
            raise
        pool.release(free - len(claims))
        for claim in claims:
            pool.start(partial(self._send_and_report, claim, trigger, on_outcome))
        return len(claims), len(claims) == free

    def drain(self, sources: list[Source], trigger: str, *, deadline: float | None = None) -> list[Outcome]:
        """Claim from each source in turn until it has nothing more, through a pool of
        `concurrency` senders, and wait for every send. With a `deadline`, stop claiming once a
        call started now might not finish before it."""
        outcomes: list[Outcome] = []
        with SendPool(self.settings.concurrency) as pool:
            try:
                for source in sources:
                    while True:
                        room = self._room(deadline)
                        if (room is not None and room <= 0) or not pool.wait_free(room):
                            break
                        _, more = self.fill(pool, source, trigger, outcomes.append)
                        if not more:
                            break
            finally:  # even when claiming failed: answer only once every started send is recorded
                pool.wait_idle()
        return outcomes

    def _room(self, deadline: float | None) -> float | None:
        """Seconds during which a call may still start and be recorded before `deadline`."""
        if deadline is None:
            return None
        return deadline - time.monotonic() - (self.webhook.deadline + RECORD_MARGIN)

    def _send_and_report(self, claim: Claim, trigger: str, on_outcome: Callable[[Outcome], object] | None) -> None:
        outcome = self.send(claim, trigger)
        if on_outcome is not None:
            on_outcome(outcome)

    # ------------------------------------------------------------------ one try

    def send(self, claim: Claim, trigger: str) -> Outcome:
        """One try for a claimed post. Never raises: one post's trouble never stops a sweep, a
        batch or the loop (a failure before the call leaves the claim to the lease)."""
        try:
            return self._try(claim, trigger)
        except Exception:
            log.exception("post %s v%s: the try failed before its outcome was known; the lease will "
                          "recover it", claim.post_id, claim.version)
            return Outcome(claim.post_id, "error", "internal")

    def _try(self, claim: Claim, trigger: str) -> Outcome:
        started = self.clock()
        cutoff = self.cutoff(started)
        if claim.reclaimed:
            trigger = "recovery"  # crash recovery: the only resend there is (same key)
            if claim.scheduled_at < cutoff or claim.attempt > self.settings.policy.max_attempts:
                return self._skip(claim, trigger=trigger, started=started, kind="unconfirmed", message=ABANDONED)
            log.warning("post %s v%s was claimed at %s and never finished; resending with the same key",
                        claim.post_id, claim.version, iso_z(claim.claimed_at))
        if claim.scheduled_at < cutoff:
            return self._skip(claim, trigger=trigger, started=started, kind="missed", message=MISSED)
        credentials = self._credentials(claim.connection, now=started)
        if not isinstance(credentials, Credentials):
            kind, message = credentials
            return self._skip(claim, trigger=trigger, started=started, kind=kind, message=message)
        payload = self._payload(claim, credentials)
        if not self.store.fence(claim, now=self.clock()):
            log.warning("post %s v%s: claim %d was taken over before the call; not sent", claim.post_id,
                        claim.version, claim.attempt)
            return Outcome(claim.post_id, "ignored", "taken_over")
        try:
            result = self.webhook.send(payload, claim.idempotency_key)
        except Exception as exc:  # a bug must not leave the post claimed until the lease runs out
            log.exception("send of post %s failed before an answer", claim.post_id)
            result = SendResult.no_answer(f"internal error: {type(exc).__name__}")
        finished = self.clock()
        try:
            verdict = decide(result, attempt=claim.attempt, scheduled_at=claim.scheduled_at,
                             now=finished, policy=self.settings.policy)
        except Exception as exc:  # the call was made: whatever went wrong, never resend it
            log.exception("could not classify n8n's answer for post %s", claim.post_id)
            verdict = unconfirmed(f"n8n's answer could not be read (internal error: {type(exc).__name__})")
        return self._record(claim, trigger=trigger, started=started, finished=finished, result=result,
                            verdict=verdict, credentials=credentials)

    def _record(self, claim: Claim, *, trigger: str, started: datetime, finished: datetime, result: SendResult,
                verdict: Verdict, credentials: Credentials) -> Outcome:
        message = _redact(verdict.message, credentials)
        record = AttemptRecord(trigger=trigger, started_at=started, finished_at=finished,
                               outcome=verdict.outcome, http_status=result.status,
                               error=_redact(result.detail, credentials) or None)
        if verdict.action == "confirm":
            self._persist(claim, lambda: self.store.confirm(claim, record, urn=verdict.urn))
            if log.isEnabledFor(logging.INFO):
                log.info("post %s v%s published (%s, attempt %s, %d ms late)", claim.post_id, claim.version,
                         trigger, claim.attempt, (started - claim.scheduled_at).total_seconds() * 1000)
            return Outcome(claim.post_id, "published", http_status=result.status)
        # a verdict that is not a confirmation always says why (retry.decide)
        assert message is not None
        if verdict.action == "retry_later":
            retry_at = verdict.retry_at
            assert retry_at is not None
            self._persist(claim, lambda: self.store.retry_later(claim, record, at=retry_at, message=message))
            log.warning("post %s v%s: %s", claim.post_id, claim.version, message)
            return Outcome(claim.post_id, "retrying", "retryable", message,
                           retry_after=(retry_at - finished).total_seconds(), http_status=result.status)
        kind = verdict.kind
        assert kind is not None
        self._persist(claim, lambda: self.store.fail(claim, record, kind=kind, message=message))
        log.warning("post %s v%s failed (%s): %s", claim.post_id, claim.version, kind, message)
        return Outcome(claim.post_id, "failed", kind, message, http_status=result.status)

    def _skip(self, claim: Claim, *, trigger: str, started: datetime, kind: str, message: str) -> Outcome:
        """Fail a claimed post without calling the webhook (too late, not connected, token expired)."""
        record = AttemptRecord(trigger=trigger, started_at=started, finished_at=self.clock(),
                               outcome="skipped", error=message)
        self._persist(claim, lambda: self.store.fail(claim, record, kind=kind, message=message))
        log.warning("post %s v%s not sent (%s)", claim.post_id, claim.version, kind)
        return Outcome(claim.post_id, "failed", kind, message, skipped=True)

    def _persist(self, claim: Claim, write: Callable[[], bool]) -> bool:
        """Write an outcome. If the database refuses (down, restarting, locked), hold the outcome
        and write it again with backoff — renewing the claim's lease meanwhile, so that no sweeper
        resends a post whose answer we hold — until it is written. Returns whether it applied."""
        delay = HOLD_FIRST
        longest = max(HOLD_FIRST, self.settings.lease / 4)
        while True:
            try:
                return write()
            except SQLAlchemyError as exc:
                log.warning("post %s v%s: its outcome could not be written (%s); holding it and trying "
                            "again in %.1f s", claim.post_id, claim.version, type(exc).__name__, delay)
            self.sleep(delay)
            try:
                self.store.fence(claim, now=self.clock())  # the lease runs from now again
            except SQLAlchemyError:
                pass
            delay = min(delay * 2, longest)

    def _credentials(self, row: Any, *, now: datetime) -> Credentials | tuple[str, str]:
        """The owner's LinkedIn credentials (read with the claim), or why the post cannot be sent:
        (error_kind, sentence)."""
        expires_at = row.expires_at if row is not None else None
        state = readiness(connected=row is not None, expires_at=expires_at, at=now, now=now,
                          demo=self.settings.demo_mode)
        if row is None:
            if state is Readiness.OK:  # demo inbox: no LinkedIn needed
                return Credentials(None, None, None)
            return NOT_READY_KIND[state], not_sent(state, expires_at=None)
        try:
            token = self._token(row.access_token_encrypted)
        except TokenDecryptError:
            return "not_connected", UNDECRYPTABLE
        if state is not Readiness.OK:  # at the time of sending, a token that is not ready has expired
            return NOT_READY_KIND[state], not_sent(state, expires_at=expires_at)
        return Credentials(row.person_urn, token, expires_at)

    def _token(self, ciphertext: str) -> str:
        token = self._tokens.get(ciphertext)
        if token is None:
            token = self.decrypt(ciphertext)
            if len(self._tokens) >= TOKENS_KEPT:
                self._tokens.clear()
            self._tokens[ciphertext] = token
        return token

    @staticmethod
    def _payload(claim: Claim, credentials: Credentials) -> dict[str, Any]:
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


def _redact(text: str | None, credentials: Credentials | None) -> str | None:
    """Never store or show an access token, even if n8n echoes it back in an error."""
    if not text or credentials is None or not credentials.access_token:
        return text
    return text.replace(credentials.access_token, "[redacted]")
