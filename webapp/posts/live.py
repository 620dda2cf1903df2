"""When a status badge asks the server again: the polling rule, as a pure function.

A badge polls only while its post can change soon. Everything else renders without a trigger, so
an idle dashboard sends no requests at all:

| post                                   | trigger                                                    |
|----------------------------------------|------------------------------------------------------------|
| publishing                             | every 2s                                                   |
| scheduled, due within SOON             | every 2s, plus one request just after its second           |
|                                        | (`load delay:…ms`), so the badge flips at once             |
| scheduled, due, overdue by < LATE      | every 2s                                                   |
| scheduled, overdue by LATE or more     | every 30s (waiting for the sweep, or for a dispatcher)     |
| scheduled, due later than SOON         | one request when it comes within SOON (`load delay:…ms`),  |
|                                        | at most MAX_WAKE ahead; never a poll                       |
| draft, published, failed (final)       | none; the status endpoint also answers 286                 |
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..dispatch.states import FINAL, PostStatus

#: Seconds between polls while a post can change at any moment.
POLL_EVERY = 2
#: A scheduled post starts polling this long before it is due.
SOON = timedelta(minutes=2)
#: A post this overdue is waiting for the sweep (or a stopped dispatcher): poll slowly.
LATE = timedelta(minutes=5)
SLOW_POLL_EVERY = 30
#: Longest one-shot wake-up; browsers fire a longer setTimeout at once (it overflows at ~24.8 days).
MAX_WAKE = timedelta(hours=6)
#: The one-shot request for a post due within SOON comes this long after its second.
SETTLE = timedelta(milliseconds=500)


@dataclass(frozen=True)
class Poll:
    """How a badge asks again: every `every` seconds, and/or once after `wake_ms`; or never."""

    every: int | None = None
    wake_ms: int | None = None

    @property
    def trigger(self) -> str | None:
        """The hx-trigger value, or None: render no trigger at all."""
        parts = []
        if self.wake_ms is not None:
            parts.append(f"load delay:{self.wake_ms}ms")
        if self.every:
            parts.append(f"every {self.every}s")
        return ", ".join(parts) or None


def _ms(delta: timedelta) -> int:
    return math.ceil(delta / timedelta(milliseconds=1))


NEVER = Poll()


def poll_for(status: str, *, due: datetime | None, now: datetime) -> Poll:
    """The polling rule (see the module docstring); `due` is states.due_at of the post."""
    if PostStatus(status) in FINAL:
        return NEVER
    if status == PostStatus.PUBLISHING or due is None:
        return Poll(every=POLL_EVERY)
    until = due - now
    if until <= -LATE:
        return Poll(every=SLOW_POLL_EVERY)
    if until <= timedelta(0):
        return Poll(every=POLL_EVERY)
    if until <= SOON:
        return Poll(every=POLL_EVERY, wake_ms=_ms(until + SETTLE))
    return Poll(wake_ms=_ms(min(until - SOON, MAX_WAKE)))


def is_final(status: str) -> bool:
    return PostStatus(status) in FINAL
