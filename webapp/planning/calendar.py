"""The calendar's month and week views, in the user's zone: the days (and, in the week view, the
hours) with the posts placed at their local times and the queue's free slots. Plain functions of
(posts, slots, anchor day, now, zone); the views read the posts and render.

Which posts can be dragged is the status table's word: those whose status allows `schedule`
and that are drafts or scheduled (a failed post is retried or rescheduled from its row)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from .. import timeutil
from ..dispatch.states import ALLOWED, Action, PostStatus
from ..models import Post
from . import queue

VIEWS = ("month", "week")
#: The time of day a draft dropped on a day of the month view is scheduled at (the week view
#: gives the hour dropped on).
DRAFT_TIME = time(9, 0)
#: How many drafts the side panel lists.
DRAFTS_SHOWN = 30
MOVABLE = frozenset({PostStatus.DRAFT, PostStatus.SCHEDULED})


@dataclass(frozen=True)
class Item:
    """A post on the calendar."""

    post: Post
    local: datetime | None  # its time in the user's zone (None: a draft)

    @property
    def movable(self) -> bool:
        status = PostStatus(self.post.status)
        return status in MOVABLE and Action.SCHEDULE in ALLOWED[status]

    @property
    def time_text(self) -> str:
        """The wall-clock time the drag keeps (HH:MM:SS), or the draft's default."""
        return f"{(self.local.time() if self.local else DRAFT_TIME):%H:%M:%S}"


@dataclass
class Cell:
    """A day (month view) or an hour of a day (week view)."""

    day: date
    hour: int | None = None
    in_range: bool = True
    today: bool = False
    items: list[Item] = field(default_factory=list)
    free: list[queue.Occurrence] = field(default_factory=list)


@dataclass(frozen=True)
class Grid:
    view: str
    anchor: date
    title: str
    start: date  # first day shown
    days: int
    cells: list[Cell]
    prev: date
    next: date

    @property
    def weeks(self) -> list[list[Cell]]:
        """Month view: the cells seven at a time."""
        return [self.cells[i:i + 7] for i in range(0, len(self.cells), 7)]

    @property
    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def hours(self) -> list[list[Cell]]:
        """Week view: one row per hour, seven cells each."""
        return [self.cells[h * 7:(h + 1) * 7] for h in range(24)]


def parse_anchor(text: str | None, today: date) -> date:
    try:
        return date.fromisoformat(text) if text else today
    except ValueError:
        return today


def bounds(view: str, anchor: date) -> tuple[date, int]:
    """The first day shown and how many days: whole Monday-first weeks around the month, or the
    anchor's week."""
    if view == "week":
        return anchor - timedelta(days=anchor.weekday()), 7
    first = anchor.replace(day=1)
    start = first - timedelta(days=first.weekday())
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = following + timedelta(days=(7 - following.weekday()) % 7)
    return start, (end - start).days


def instant_of(day: date, zone_name: str) -> datetime:
    """Local midnight of `day` as a UTC instant (a range bound)."""
    return datetime.combine(day, time()).replace(tzinfo=timeutil.zone(zone_name)).astimezone(timeutil.UTC)


def grid(view: str, anchor: date, *, posts: Iterable[Post], slots: Iterable[queue.Slot], now: datetime,
         zone_name: str) -> Grid:
    """The month or week around `anchor`, with each post in its day (and hour) and the queue's
    slots that are still free and ahead."""
    start, days = bounds(view, anchor)
    today = timeutil.local(now, zone_name).date()
    if view == "week":
        cells = [Cell(start + timedelta(days=d), h, today=start + timedelta(days=d) == today)
                 for h in range(24) for d in range(7)]
        index = {(c.day, c.hour): c for c in cells}
        title = f"Week of {start:%a} {start.day} {start:%b %Y}"
        prev, nxt = anchor - timedelta(days=7), anchor + timedelta(days=7)
    else:
        cells = [Cell(start + timedelta(days=d), None, in_range=(start + timedelta(days=d)).month == anchor.month,
                      today=start + timedelta(days=d) == today) for d in range(days)]
        index = {(c.day, None): c for c in cells}
        title = f"{anchor:%B %Y}"
        prev = (anchor.replace(day=1) - timedelta(days=1)).replace(day=1)
        nxt = (anchor.replace(day=28) + timedelta(days=4)).replace(day=1)
    taken = set()
    timed = [(p.scheduled_at, p) for p in posts if p.scheduled_at is not None]
    for scheduled_at, post in sorted(timed, key=lambda pair: pair[0]):
        at = timeutil.local(scheduled_at, zone_name)
        taken.add(queue.minute(scheduled_at))
        cell = index.get((at.date(), at.hour if view == "week" else None))
        if cell is not None:
            cell.items.append(Item(post, at.replace(tzinfo=None)))
    for found in queue.occurrences(slots, start=start, days=days, zone_name=zone_name):
        if found.instant is None or found.instant <= now or queue.minute(found.instant) in taken:
            continue
        cell = index.get((found.day, found.slot.at.hour if view == "week" else None))
        if cell is not None:
            cell.free.append(found)
    return Grid(view, anchor, title, start, days, cells, prev, nxt)
