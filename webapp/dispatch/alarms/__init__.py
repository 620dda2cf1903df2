"""Alarm clocks: what wakes a post up at its time. They only ever lead to a guarded claim, so a
late, early, duplicate or stale alarm is harmless; the post row decides.

local   the built-in dispatcher loop (default)
qstash  one QStash message per post version, delivered to the signed dispatch endpoint
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from ..store import Change

if TYPE_CHECKING:
    from .local import LocalDispatcher


@dataclass(frozen=True)
class AlarmResult:
    message_id: str | None = None
    #: A sentence for the user when the alarm could not be set but the safety net will cover it.
    warning: str | None = None


class Alarm(Protocol):
    name: str

    def scheduled(self, change: Change, *, immediate: bool = False) -> AlarmResult:
        """A post version was scheduled (or rescheduled); `immediate` for publish-now."""

    def unscheduled(self, change: Change) -> None:
        """A post version was unscheduled or deleted; its alarm is stale now."""

    def enqueue_missing(self, now: datetime, *, deadline: float | None = None) -> int:
        """Sweep hook: set alarms for scheduled posts that have none, starting no new one after
        `deadline` (a time.monotonic() value); returns how many."""


class LocalAlarm:
    """Wakes the in-process local dispatcher, if one runs here (a separate `flask worker`
    process notices new schedules within a second by itself)."""

    name = "local"

    def __init__(self) -> None:
        self.dispatcher: LocalDispatcher | None = None  # the one of this process, once started

    def scheduled(self, change: Change, *, immediate: bool = False) -> AlarmResult:
        if self.dispatcher is not None:
            if immediate:
                self.dispatcher.submit_one(change.post_id, change.version, "manual")
            else:
                self.dispatcher.wake()
        return AlarmResult()

    def unscheduled(self, change: Change) -> None:
        """Nothing to cancel: the new version makes any claim of the old one fail."""

    def enqueue_missing(self, now: datetime, *, deadline: float | None = None) -> int:
        return 0
