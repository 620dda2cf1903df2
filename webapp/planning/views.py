"""The planning views, one per URL and method: the queue's slots (in Settings), Add to queue (a
post's row), and the calendar. Each parses, makes one call, answers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import flash, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import queries, timeutil
from ..accounts import settings
from ..dispatch import actions
from ..dispatch.errors import Conflict, InvalidInput
from ..dispatch.states import PostStatus
from ..htmx import changed, is_htmx, render_page_or_partial
from ..models import Post
from ..posts import answers, widgets
from ..posts.dashboard import SECTION
from ..posts.form import read_when
from ..runtime import core
from . import bp, calendar, queue, slots

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


# ---------------------------------------------------------------- the calendar


def calendar_page(view: str | None, anchor: str | None) -> dict[str, Any]:
    """Everything the calendar (page or refreshed widget) renders: the grid, the drafts to drag in."""
    at, zone, user_id = core().clock(), current_user.time_zone, current_user.id
    view = view if view in calendar.VIEWS else "month"
    day = calendar.parse_anchor(anchor, timeutil.local(at, zone).date())
    start, days = calendar.bounds(view, day)
    posts = queries.posts_between(user_id, calendar.instant_of(start - timedelta(days=1), zone),
                                  calendar.instant_of(start + timedelta(days=days + 1), zone))
    drafts = queries.first_posts(user_id, [(PostStatus.DRAFT, SECTION["drafts"].order, calendar.DRAFTS_SHOWN)])[0]
    return {
        "grid": calendar.grid(view, day, posts=posts, slots=slots.weekly(user_id), now=at, zone_name=zone),
        "drafts": [calendar.Item(p, None) for p in drafts],
        "zone": zone,
        "draft_time": f"{calendar.DRAFT_TIME:%H:%M}",
    }


@bp.get("/calendar")
@login_required
def calendar_get() -> ResponseReturnValue:
    return render_page_or_partial("calendar/index.html", "calendar/_calendar.html",
                                  **calendar_page(request.args.get("view"), request.args.get("date")))


@bp.post("/calendar/move")
@login_required
def calendar_move_post() -> ResponseReturnValue:
    """A post dragged to another day or hour (or an Undo): schedule it at the date and time sent,
    through the form's own action — or, to undo a draft's move, unschedule it."""
    post_id, zone = request.form.get("post_id", ""), current_user.time_zone
    post = queries.load_post(current_user.id, post_id)
    before = {"status": post.status, "at": post.scheduled_at}
    try:
        if request.form.get("to") == "draft":
            actions.unschedule_post(core(), user_id=current_user.id, post_id=post_id)
            return moved(post, before, "Back in your drafts, unscheduled.")
        when = read_when(request.form.get("date", ""), request.form.get("time", ""), zone)
        result = actions.schedule_post(core(), user_id=current_user.id, post_id=post_id, when=when, zone_name=zone)
    except (InvalidInput, Conflict) as exc:
        return moved(post, None, exc.message, status=exc.status)
    return moved(post, before, f"Moved to {timeutil.format_local(result.scheduled_at, zone)}.", result.notices)


def moved(post: Post, before: dict[str, Any] | None, message: str, notices: list[str] | None = None, *,
          status: int = 200) -> ResponseReturnValue:
    """What a move says: in the calendar's notice (htmx / script), with an Undo back to `before`;
    without JavaScript, the calendar again with the message."""
    title = widgets.excerpt(post.content, 40)
    if not (is_htmx() or request.headers.get("X-Punctual-Calendar")):
        flash(f"“{title}”: {message}", "success" if status == 200 else "error")
        for notice in notices or ():
            flash(notice, "warning")
        return redirect(url_for("planning.calendar_get", view=request.form.get("view"),
                                date=request.form.get("anchor")))
    undo = None
    if before is not None and status == 200:
        at = timeutil.local(before["at"], current_user.time_zone) if before["at"] else None
        undo = ({"to": "draft"} if before["status"] == PostStatus.DRAFT or at is None
                else {"date": at.date().isoformat(), "time": f"{at:%H:%M:%S}"})
    response = make_response(render_template("calendar/_moved.html", post=post, title=title, message=message,
                                              notices=notices or [], undo=undo, refused=status != 200), status)
    return changed(response) if status == 200 else response
