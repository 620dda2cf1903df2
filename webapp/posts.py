"""The scheduling UI: the dashboard, compose / edit, the post page, the live status badge and the
row actions. An htmx request gets the widget's new state (and `HX-Trigger: posts-changed`, so the
lists refresh); a plain form post gets a redirect, so the core flows work without JavaScript.
Every change goes through webapp.dispatch.actions, exactly like the JSON API."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import dashboard, queries, timeutil, widgets
from .dispatch import actions
from .dispatch.errors import Conflict, InvalidInput
from .dispatch.states import EDITABLE, PostStatus
from .htmx import STOP_POLLING, changed, is_htmx, render_page_or_partial
from .models import Post
from .post_form import INTENTS, PostForm
from .runtime import core

bp = Blueprint("posts", __name__)
bp.add_app_template_filter(dashboard.format_when, "when")
bp.add_app_template_filter(widgets.clock, "clock")
bp.add_app_template_filter(widgets.excerpt, "excerpt")
S = PostStatus
#: Refusals shown next to what the user was doing (a missing post is a plain 404).
REFUSED = (InvalidInput, Conflict)


@dataclass(frozen=True)
class Done:
    """What an action achieved, in words: the message, and notes worth a second look."""

    message: str
    notices: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the actions, in words


def guard(post_id: str, action: str) -> Post:
    """The user's post, if its status offers `action` (else 409 with a sentence)."""
    post = queries.load_post(current_user.id, post_id)
    if action not in widgets.ACTIONS[S(post.status)]:
        raise Conflict(f"This post is {post.status}; it cannot be {widgets.PAST[action]} now.")
    return post


def schedule(post_id: str, when: timeutil.ResolvedTime) -> Done:
    result = actions.schedule_post(core(), current_user.id, post_id, when, current_user.time_zone)
    at = result.scheduled_at
    return Done(f"Scheduled for {dashboard.format_when(at, current_user.time_zone)} "
                f"({timeutil.relative(at, widgets.now())}).",
                [n for n in (result.note, result.warning, result.linkedin_warning) if n])


def publish(post_id: str, message: str = "Publishing now: its status updates here by itself.") -> Done:
    result = actions.publish_now(core(), current_user.id, post_id, current_user.time_zone)
    return Done(message, [n for n in (result.warning, result.linkedin_warning) if n])


def retry(post_id: str) -> Done:
    guard(post_id, "retry")
    return publish(post_id, "Retrying now: its status updates here by itself.")


def unschedule(post_id: str) -> Done:
    guard(post_id, "unschedule")
    actions.unschedule_post(core(), current_user.id, post_id)
    return Done("Unscheduled: the post is a draft again and will not be sent.")


def duplicate(post_id: str) -> Done:
    post = guard(post_id, "duplicate")
    actions.create_post(core(), current_user.id, {"content": post.content, "image_url": post.image_url})
    return Done("Copied into a new draft (under Drafts).")


def delete(post_id: str) -> Done:
    """Delete; a scheduled post is unscheduled first, so nothing can send it in between."""
    if guard(post_id, "delete").status == S.SCHEDULED:
        actions.unschedule_post(core(), current_user.id, post_id)
    actions.delete_post(core(), current_user.id, post_id)
    return Done("Post deleted.")


# ---------------------------------------------------------------- answers


def announce(response, message: str | None):
    """Add an out-of-band update of the page's live region, read out by screen readers."""
    if message and is_htmx():
        response.set_data(response.get_data(as_text=True)
                          + render_template("_announce.html", message=message))
    return response


def go(url: str, done: Done | None = None):
    """Leave for another page: a redirect, or HX-Redirect for htmx (a full page load)."""
    if done is not None:
        flash(done.message, "success")
        for notice in done.notices:
            flash(notice, "warning")
    if not is_htmx():
        return redirect(url)
    response = make_response("", 204)
    response.headers["HX-Redirect"] = url
    return response


def row_answer(post_id: str, status: int = 200, *, mode: str | None = None, error: str | None = None,
               form: PostForm | None = None, done: Done | None = None):
    """The row widget: a fragment for htmx, the row on a page of its own otherwise."""
    post = queries.load_post(current_user.id, post_id)
    refusal = widgets.refuse_mode(post, mode) if mode else None
    if refusal is not None:
        status, mode, error = refusal.status, None, refusal.message
    row = widgets.row_of(post, mode=mode, error=error, form=form, notices=done.notices if done else ())
    response = render_page_or_partial("posts/row.html", "posts/_row.html", status, row=row)
    return announce(response, done.message if done else None)


def act(post_id: str, do, *, mode: str | None = None, form: PostForm | None = None):
    """Run a row action; answer with the row's new state, or the refusal shown in the row."""
    try:
        done = do()
    except REFUSED as exc:
        if form is None:
            return row_answer(post_id, exc.status, mode=mode, error=exc.message)
        form.errors["when"] = exc.message  # shown next to the date and time
        return row_answer(post_id, exc.status, mode=mode, form=form)
    if not is_htmx():
        return go(url_for("posts.index"), done)
    return changed(row_answer(post_id, done=done))


def form_answer(form: PostForm, post: Post | None, status: int, notices=()):
    """The compose form again, as typed, with the errors next to their fields."""
    context = widgets.compose_page(form, post, notices=notices)
    return render_page_or_partial("posts/compose.html", "posts/_form.html", status, **context)


def submit(form: PostForm, post: Post | None):
    """Save, schedule or publish what the compose form holds. Nothing is written unless all is valid."""
    intent = request.form.get("intent", "save")
    fields = form.fields()
    when = form.when(current_user.time_zone, widgets.now()) if intent == "schedule" else None
    if intent not in INTENTS:
        form.errors["form"] = "Choose Save draft, Schedule or Publish now."
    if form.errors:
        return form_answer(form, post, 400)
    try:
        post_id = save(fields, post)
    except REFUSED as exc:
        form.errors["form"] = exc.message
        return form_answer(form, post, exc.status)
    try:
        done = carry_out(intent, post_id, when, new=post is None)
    except REFUSED as exc:
        form.errors["when" if intent == "schedule" else "form"] = exc.message
        return form_answer(form, queries.load_post(current_user.id, post_id), exc.status,
                           notices=["Your text is saved; the post was not scheduled."])
    return go(url_for("posts.index"), done)


def carry_out(intent: str, post_id: str, when, *, new: bool) -> Done:
    if intent == "schedule":
        return schedule(post_id, when)
    if intent == "publish":
        return publish(post_id)
    return Done("Draft saved." if new else "Changes saved.")


def save(fields: dict, post: Post | None) -> str:
    if post is None:
        return actions.create_post(core(), current_user.id, fields)
    actions.edit_post(core(), current_user.id, post.id, fields)
    return post.id


def status_answer(post: Post, seen: str | None):
    """The badge; 286 once final (htmx stops polling); posts-changed when it moved since `seen`."""
    badge = widgets.status_of(post, widgets.now())
    response = make_response(render_template("posts/_status.html", status=badge),
                             STOP_POLLING if badge.final else 200)
    response.vary.add("HX-Request")
    if seen != badge.stamp:
        changed(response)
        if widgets.seen_status(seen) != post.status:
            announce(response, widgets.status_sentence(post))
    return response


# ---------------------------------------------------------------- pages


@bp.get("/")
@login_required
def index():
    return render_page_or_partial("posts/index.html", "posts/_dashboard.html",
                                  **widgets.dashboard_page(expand=request.args.get("all")))


@bp.get("/posts/new")
@login_required
def compose_get():
    form = PostForm.blank(current_user.time_zone, widgets.now())
    return render_template("posts/compose.html", **widgets.compose_page(form))


@bp.post("/posts/new")
@login_required
def compose_post():
    return submit(PostForm.from_request(request.form), None)


@bp.get("/posts/<post_id>")
@login_required
def detail(post_id: str):
    return render_page_or_partial("posts/detail.html", "posts/_detail.html", **widgets.detail_page(post_id))


@bp.get("/posts/<post_id>/edit")
@login_required
def edit_get(post_id: str):
    post = queries.load_post(current_user.id, post_id)
    if post.status not in EDITABLE:
        flash(f"This post is {post.status}; it can no longer be edited.", "error")
        return redirect(url_for("posts.detail", post_id=post_id))
    form = PostForm.for_post(post, current_user.time_zone, widgets.now())
    return render_template("posts/compose.html", **widgets.compose_page(form, post))


@bp.post("/posts/<post_id>/edit")
@login_required
def edit_post(post_id: str):
    return submit(PostForm.from_request(request.form), queries.load_post(current_user.id, post_id))


# ---------------------------------------------------------------- the live badge and the row


@bp.get("/posts/<post_id>/status")
@login_required
def status(post_id: str):
    post = queries.load_post(current_user.id, post_id)
    if not is_htmx():
        response = redirect(url_for("posts.detail", post_id=post_id))
        response.vary.add("HX-Request")
        return response
    return status_answer(post, request.args.get("seen"))


@bp.get("/posts/<post_id>/row")
@login_required
def row(post_id: str):
    return row_answer(post_id)


@bp.get("/posts/<post_id>/schedule")
@login_required
def schedule_get(post_id: str):
    return row_answer(post_id, mode="schedule")


@bp.post("/posts/<post_id>/schedule")
@login_required
def schedule_post(post_id: str):
    form = PostForm.from_request(request.form)
    when = form.when(current_user.time_zone, widgets.now())
    if when is None:
        return row_answer(post_id, 400, mode="schedule", form=form)
    return act(post_id, lambda: schedule(guard(post_id, "schedule").id, when), mode="schedule", form=form)


@bp.post("/posts/<post_id>/unschedule")
@login_required
def unschedule_post(post_id: str):
    return act(post_id, lambda: unschedule(post_id))


@bp.get("/posts/<post_id>/publish-now")
@login_required
def publish_now_get(post_id: str):
    return row_answer(post_id, mode="confirm-publish")


@bp.post("/posts/<post_id>/publish-now")
@login_required
def publish_now_post(post_id: str):
    return act(post_id, lambda: publish(guard(post_id, "publish").id))


@bp.get("/posts/<post_id>/retry")
@login_required
def retry_get(post_id: str):
    return row_answer(post_id, mode="confirm-retry")


@bp.post("/posts/<post_id>/retry")
@login_required
def retry_post(post_id: str):
    return act(post_id, lambda: retry(post_id))


@bp.post("/posts/<post_id>/duplicate")
@login_required
def duplicate_post(post_id: str):
    return act(post_id, lambda: duplicate(post_id))


@bp.get("/posts/<post_id>/delete")
@login_required
def delete_get(post_id: str):
    return row_answer(post_id, mode="confirm-delete")


@bp.post("/posts/<post_id>/delete")
@login_required
def delete_post(post_id: str):
    try:
        done = delete(post_id)
    except REFUSED as exc:
        return row_answer(post_id, exc.status, error=exc.message)
    if is_htmx() and not widgets.viewing_detail(post_id):
        return changed(announce(make_response(""), done.message))  # the row swaps itself away
    return go(url_for("posts.index"), done)
