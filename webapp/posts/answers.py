"""How the scheduling UI answers. An htmx request gets the widget's new state (and
`HX-Trigger: posts-changed` after a change, so the lists refresh); a plain form post gets a
redirect with a flashed message. Also what each action says once it is done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import Response, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response as BaseResponse

from .. import queries, timeutil
from ..dispatch.actions import Saved, Scheduled
from ..dispatch.states import Action, allows, refusal
from ..htmx import STOP_POLLING, changed, is_htmx, render_page_or_partial
from ..models import Post
from . import widgets
from .form import PostForm

A = Action


@dataclass(frozen=True)
class Done:
    """What an action achieved, in words: the message, and notes worth a second look."""

    message: str
    notices: Sequence[str] = field(default_factory=list)


#: What the UI says once an action is done (a schedule also says when: see `scheduled`).
SAID = {
    A.PUBLISH_NOW: "Publishing now: its status updates here by itself.",
    A.RETRY: "Retrying now: its status updates here by itself.",
    A.UNSCHEDULE: "Unscheduled: the post is a draft again and will not be sent.",
    A.DUPLICATE: "Copied into a new draft (under Drafts).",
    A.DELETE: "Post deleted.",
    A.CONFIRM_PUBLISHED: "Marked as published: it is on LinkedIn, and Punctual will not send it again.",
    A.RESEND: "Sending it again now, as a new version: its status updates here by itself.",
}


def scheduled(result: Scheduled, action: Action = A.SCHEDULE) -> Done:
    """What a schedule, publish now or retry says."""
    if action is not A.SCHEDULE:
        return Done(SAID[action], result.notices)
    at, zone = result.scheduled_at, current_user.time_zone
    return Done(f"Scheduled for {timeutil.format_local(at, zone)} ({timeutil.relative(at, now=widgets.now())}).",
                result.notices)


def saved(result: Saved, then: Action | None) -> Done:
    """What the compose form says once saved (and scheduled, or published, as asked)."""
    if result.scheduled is not None and then is not None:
        return scheduled(result.scheduled, then)
    return Done("Draft saved." if result.created else "Changes saved.")


def announce(response: Response, message: str | None) -> Response:
    """Add an out-of-band update of the page's live region, read out by screen readers."""
    if message and is_htmx():
        response.set_data(response.get_data(as_text=True) + render_template("_announce.html", message=message))
    return response


def leave(url: str, done: Done | None = None, *, error: str | None = None) -> BaseResponse:
    """Go to another page: a redirect, or HX-Redirect for htmx (a full page load); with a message."""
    if done is not None:
        flash(done.message, "success")
        for notice in done.notices:
            flash(notice, "warning")
    if error is not None:
        flash(error, "error")
    if not is_htmx():
        return redirect(url)
    response = make_response("", 204)
    response.headers["HX-Redirect"] = url
    return response


def row(post_id: str, status: int = 200, *, asking: Action | None = None, error: str | None = None,
        form: PostForm | None = None, done: Done | None = None, typed: str = "") -> Response:
    """The row widget: a fragment for htmx, the row on a page of its own otherwise. Asking for an
    action the post's status does not allow (any more) shows the refusal instead (409)."""
    post = queries.load_post(current_user.id, post_id)
    if asking is not None and not allows(post.status, asking, post.error_kind):
        error = refusal(post.status, asking, post.error_kind)
        status, asking = 409, None
    context = widgets.row_of(post, asking=asking, error=error, form=form, notices=done.notices if done else (),
                             typed=typed)
    response = render_page_or_partial("posts/row.html", "posts/_row.html", status, row=context)
    return announce(response, done.message if done else None)


def acted(post_id: str, done: Done) -> BaseResponse:
    """After a row action: the row's new state (htmx), or the dashboard with the message."""
    if not is_htmx():
        return leave(url_for("posts.index"), done)
    return changed(row(post_id, done=done))


def gone(post_id: str, done: Done) -> BaseResponse:
    """After a delete: on the dashboard the row swaps itself away; elsewhere, back to the dashboard."""
    if is_htmx() and not widgets.viewing_detail(post_id):
        return changed(announce(make_response(""), done.message))
    return leave(url_for("posts.index"), done)


def compose(form: PostForm, post: Post | None, status: int = 200, *, notices: Sequence[str] = ()) -> Response:
    """The compose form, as typed, with the errors next to their fields."""
    context = widgets.compose_page(form, post, notices=notices)
    return render_page_or_partial("posts/compose.html", "posts/_form.html", status, **context)


def badge(post: Post, seen: str | None) -> Response:
    """The status badge; 286 once final (htmx stops polling); posts-changed when it moved since `seen`."""
    status = widgets.status_of(post, widgets.now())
    response = make_response(render_template("posts/_status.html", status=status),
                             STOP_POLLING if status.final else 200)
    response.vary.add("HX-Request")
    if seen != status.stamp:
        changed(response)
        if widgets.seen_status(seen) != post.status:
            announce(response, widgets.status_sentence(post))
    return response
