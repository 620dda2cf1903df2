"""The planning views, one per URL and method: the queue's slots (in Settings), Add to queue (a
post's row), and the calendar. Each parses, makes one call, answers."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..accounts import settings
from ..dispatch.errors import Conflict, InvalidInput
from ..posts import answers
from ..runtime import core
from . import bp, queue, slots

# ---------------------------------------------------------------- the queue's slots (Settings)


@bp.post("/settings/queue")
@login_required
def slot_add_post() -> ResponseReturnValue:
    try:
        slot = queue.parse_slot(request.form.get("weekday", ""), request.form.get("time", ""))
        added = slots.add_slot(current_user.id, slot)
    except ValueError as exc:
        return settings.settings_page(400, queue_error=str(exc), queue_typed=request.form)
    except InvalidInput as exc:
        return settings.settings_page(exc.status, queue_error=exc.message, queue_typed=request.form)
    flash(f"{slot.label} added to your queue." if added else f"{slot.label} is already in your queue.",
          "success" if added else "info")
    return redirect(url_for("settings.index", _anchor="queue"))


@bp.post("/settings/queue/<int:slot_id>/delete")
@login_required
def slot_delete_post(slot_id: int) -> ResponseReturnValue:
    slot = slots.delete_slot(current_user.id, slot_id)
    flash(f"{slot.label} removed from your queue; posts already in it keep their times.", "success")
    return redirect(url_for("settings.index", _anchor="queue"))


# ---------------------------------------------------------------- Add to queue (a post's row)


@bp.post("/posts/<post_id>/queue")
@login_required
def queue_post(post_id: str) -> ResponseReturnValue:
    try:
        result = slots.add_to_queue(core(), user_id=current_user.id, post_id=post_id,
                                    zone_name=current_user.time_zone)
    except (InvalidInput, Conflict) as exc:  # no free slot, the post's status, the LinkedIn token
        return answers.row(post_id, exc.status, error=exc.message)
    return answers.acted(post_id, answers.scheduled(result))
