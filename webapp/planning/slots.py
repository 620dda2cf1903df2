"""The posting queue in the database: the user's weekly slots, the instants already taken, and
"Add to queue" — the next free slot (queue.next_free_slot), scheduled through the same action
as the form (actions.schedule_post), so it meets the same refusals."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import queries, timeutil
from ..dispatch import actions
from ..dispatch.errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..models import Post, QueueSlot
from . import queue


def slots_of(user_id: int) -> list[QueueSlot]:
    """The user's slots, Monday first, then by time."""
    return list(db.session.execute(
        select(QueueSlot).where(QueueSlot.user_id == user_id).order_by(QueueSlot.weekday, QueueSlot.at)
    ).scalars())


def weekly(user_id: int) -> list[queue.Slot]:
    return [queue.Slot(s.weekday, s.at) for s in slots_of(user_id)]


def add_slot(user_id: int, slot: queue.Slot) -> bool:
    """Add a slot; False when the user already has it (nothing changes)."""
    have = weekly(user_id)
    if slot in have:
        return False
    if len(have) >= queue.MAX_SLOTS:
        raise InvalidInput(f"A queue holds at most {queue.MAX_SLOTS} slots a week; remove one first.")
    db.session.add(QueueSlot(user_id=user_id, weekday=slot.weekday, at=slot.at))
    db.session.commit()
    return True


def delete_slot(user_id: int, slot_id: int) -> queue.Slot:
    found = db.session.execute(
        select(QueueSlot).where(QueueSlot.id == slot_id, QueueSlot.user_id == user_id)
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("There is no such slot in your queue.")
    slot = queue.Slot(found.weekday, found.at)
    db.session.delete(found)
    db.session.commit()
    return slot


def taken_from(user_id: int, start: datetime) -> list[datetime]:
    """When the user's pending posts are due, from `start` on (a slot in their minute is taken)."""
    return [at for at in queries.pending_times(user_id, start) if at is not None]


def pick(user_id: int, zone_name: str, now: datetime, *, post_id: str | None = None) -> timeutil.ResolvedTime:
    """The next free slot as the instant to schedule, with a note saying it was the queue's pick
    and what was skipped (DST gaps) or chosen (fall-back). Conflict when there is none. The post
    being queued does not take a slot from itself."""
    taken = taken_from(user_id, now)
    if post_id is not None:
        own = queries.load_post(user_id, post_id).scheduled_at
        taken = [at for at in taken if at != own]
    try:
        choice = queue.next_free_slot(weekly(user_id), taken, now=now, zone_name=zone_name)
    except queue.NoFreeSlot as exc:
        raise Conflict(str(exc)) from None
    said = (f"Added to your queue: the next free slot, {choice.occurrence.slot.label} "
            f"({timeutil.iso_z(choice.instant)}).")
    return timeutil.ResolvedTime(choice.instant, " ".join([said, *choice.notes]))


def add_to_queue(core: actions.Core, *, user_id: int, post_id: str, zone_name: str) -> actions.Scheduled:
    """Schedule the post at the next free slot: the same action, and refusals, as the form."""
    when = pick(user_id, zone_name, core.clock(), post_id=post_id)
    return actions.schedule_post(core, user_id=user_id, post_id=post_id, when=when, zone_name=zone_name)


@dataclass(frozen=True)
class Upcoming:
    """One coming occurrence of a slot, and the post due in it (None: free)."""

    occurrence: queue.Occurrence
    post: Post | None


def upcoming(user_id: int, zone_name: str, now: datetime, pending: list[Post], *, days: int = 7) -> list[Upcoming]:
    """The slots of the next `days` days (today first, past ones left out), each with its post
    among `pending` (the dashboard's pending posts of the next days + 1, already read)."""
    slots = weekly(user_id)
    if not slots:
        return []
    today = timeutil.local(now, zone_name).date()
    by_minute = {queue.minute(p.scheduled_at): p for p in pending if p.scheduled_at is not None}
    out = []
    for found in queue.occurrences(slots, start=today, days=days, zone_name=zone_name):
        if found.instant is not None and found.instant <= now:
            continue
        out.append(Upcoming(found, by_minute.get(queue.minute(found.instant)) if found.instant else None))
    return out
