"""What to do after one webhook call: a pure decision, table-tested in tests/test_retry.py.

Only what provably did not reach n8n, or what n8n declined to process (429, 503), is tried again.
An answer that leaves open whether n8n published (500/502/504, a read timeout, a dropped
connection) is never resent automatically: the post fails as *unconfirmed*.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

#: Statuses that mean "n8n did not process it; ask again later".
RETRY_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class SendResult:
    """What came back from one webhook call."""

    #: "answered" (an HTTP status came back), "not_sent" (never reached n8n: refused, DNS,
    #: connect timeout) or "no_answer" (sent, but no status came back: read timeout, dropped).
    kind: str
    status: int | None = None
    detail: str = ""  # n8n's message, or the transport error, already short and safe to show
    retry_after: float | None = None
    urn: str | None = None

    @classmethod
    def answered(cls, status: int, detail: str = "", retry_after: float | None = None, urn: str | None = None):
        return cls("answered", status, detail, retry_after, urn)

    @classmethod
    def not_sent(cls, detail: str):
        return cls("not_sent", detail=detail)

    @classmethod
    def no_answer(cls, detail: str):
        return cls("no_answer", detail=detail)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_delay: float = 5.0
    max_delay: float = 600.0
    max_lateness: float = 12 * 3600.0

    def backoff(self, attempt: int) -> float:
        """5 s, 10 s, 20 s … capped at max_delay, for the attempt that just failed (1-based)."""
        return min(self.max_delay, self.base_delay * 2 ** min(max(0, attempt - 1), 60))


@dataclass(frozen=True)
class Verdict:
    #: "confirm" (published), "retry_later" (back to scheduled with a backoff) or "fail".
    action: str
    #: The Attempt row's outcome: published, retry, failed or unconfirmed.
    outcome: str
    message: str | None = None
    kind: str | None = None  # why it failed: rejected, unconfirmed, gave_up
    retry_at: datetime | None = None
    urn: str | None = None


def _status_text(result: SendResult) -> str:
    return f"HTTP {result.status}" + (f": {result.detail}" if result.detail else "")


def decide(result: SendResult, *, attempt: int, scheduled_at: datetime, now: datetime,
           policy: RetryPolicy) -> Verdict:
    """The verdict for one try (attempt is 1 for the first try of this schedule version)."""
    if result.kind == "answered" and 200 <= result.status < 300:
        return Verdict("confirm", "published", urn=result.urn)

    if result.kind == "no_answer":
        return unconfirmed(f"n8n did not confirm the post ({result.detail})")

    if result.kind == "answered" and result.status >= 500 and result.status not in RETRY_STATUSES:
        return unconfirmed(f"n8n did not confirm the post ({_status_text(result)})")

    if result.kind == "answered" and result.status not in RETRY_STATUSES:
        if 300 <= result.status < 400:
            return Verdict("fail", "failed", kind="rejected", message=(
                f"n8n answered with a redirect (HTTP {result.status}); check N8N_WEBHOOK_URL. Not sent."))
        return Verdict("fail", "failed", kind="rejected",
                       message=f"n8n rejected the post ({_status_text(result)}).")

    # Retryable: never reached n8n, or n8n declined (429/503).
    reason = (f"could not reach n8n ({result.detail})" if result.kind == "not_sent"
              else f"n8n declined it for now ({_status_text(result)})")
    # Retry-After is honoured up to the policy's longest backoff (a year-long one is not a plan).
    delay = result.retry_after if result.retry_after is not None else policy.backoff(attempt)
    delay = min(policy.max_delay, max(1.0, delay))
    left = (scheduled_at - now).total_seconds() + policy.max_lateness  # until the post is too late
    if attempt >= policy.max_attempts:
        return Verdict("fail", "failed", kind="gave_up",
                       message=f"Not sent: {reason}, and {attempt} attempts were made. Retry when n8n is back.")
    if delay > left:
        return Verdict("fail", "failed", kind="gave_up",
                       message=f"Not sent: {reason}, and the next try would be too late. Retry when n8n is back.")
    return Verdict("retry_later", "retry", retry_at=now + timedelta(seconds=delay),
                   message=f"Trying again: {reason} (attempt {attempt} of {policy.max_attempts}).")


def unconfirmed(what: str) -> Verdict:
    """Failed as unconfirmed: n8n may have published it, so it is never resent automatically."""
    return Verdict("fail", "unconfirmed", kind="unconfirmed",
                   message=f"{what}. It may have been published — check LinkedIn before retrying.")
