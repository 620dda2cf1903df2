"""The scheduling UI's views, one per URL and method: parse the request, call one action
(webapp/dispatch/actions.py) or build one page (widgets.py), answer (answers.py). A row action
the post's status refuses answers with the row saying why (`refused`)."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from .. import queries
from ..dispatch import actions
from ..dispatch.errors import Conflict, InvalidInput
from ..dispatch.states import Action, allows, refusal
from ..htmx import is_htmx, render_page_or_partial
from ..planning import slots
from ..runtime import core
from ..web import error_response
from . import answers, bp, widgets
from .form import PostForm

A = Action
bp.add_app_template_filter(widgets.clock, "clock")
bp.add_app_template_filter(widgets.excerpt, "excerpt")


@bp.errorhandler(InvalidInput)
@bp.errorhandler(Conflict)
def refused(exc: InvalidInput | Conflict) -> ResponseReturnValue:
    """A refused row action: the row, saying why (a missing post stays a plain 404)."""
    post_id = (request.view_args or {}).get("post_id")
    if post_id is None:
        return error_response(exc.status, exc.message)
    return answers.row(post_id, exc.status, error=exc.message)


# ---------------------------------------------------------------- pages


@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    return render_page_or_partial("posts/index.html", "posts/_dashboard.html",
                                  **widgets.dashboard_page(expand=request.args.get("all")))


@bp.get("/posts/new")
@login_required
def compose_get() -> ResponseReturnValue:
    return answers.compose(PostForm.blank(current_user.time_zone, widgets.now()), None)


@bp.post("/posts/new")
@login_required
def compose_post() -> ResponseReturnValue:
    return submitted(None)


@bp.get("/posts/<post_id>")
@login_required
def detail(post_id: str) -> ResponseReturnValue:
    return render_page_or_partial("posts/detail.html", "posts/_detail.html", **widgets.detail_page(post_id))


@bp.get("/posts/<post_id>/edit")
@login_required
def edit_get(post_id: str) -> ResponseReturnValue:
    post = queries.load_post(current_user.id, post_id)
    if not allows(post.status, A.EDIT):
        return answers.leave(url_for("posts.detail", post_id=post_id), error=refusal(post.status, A.EDIT))
    return answers.compose(PostForm.for_post(post, current_user.time_zone, widgets.now()), post)


@bp.post("/posts/<post_id>/edit")
@login_required
def edit_post(post_id: str) -> ResponseReturnValue:
    return submitted(post_id)


def submitted(post_id: str | None) -> ResponseReturnValue:
    """Save what the compose form holds, then schedule or publish it as asked (actions.save_post).
    Nothing is written unless everything typed is valid; the form comes back, as typed, with
    each mistake next to its field."""
    post = queries.load_post(current_user.id, post_id) if post_id else None
    form, zone = PostForm.from_request(request.form), current_user.time_zone
    fields, then, when = form.read(zone)
    if form.queued and fields is not None and not form.errors:
        try:
            when = slots.pick(current_user.id, zone, widgets.now(), post_id=post_id)
        except Conflict as exc:  # no slots, or none free
            form.errors["form"] = exc.message
            return answers.compose(form, post, exc.status)
    if fields is None or form.errors:
        if when is not None:  # nothing will be saved, so the action will not check the time: say now
            form.check(when, zone, widgets.now())
        return answers.compose(form, post, 400)
    try:
        saved = actions.save_post(core(), user_id=current_user.id, post_id=post_id, fields=fields, then=then,
                                  when=when, zone_name=zone)
    except (InvalidInput, Conflict) as exc:  # nothing was written: the time, or the post's status
        form.errors["when" if isinstance(exc, InvalidInput) else "form"] = exc.message
        return answers.compose(form, post, exc.status)
    if saved.refused is not None:
        form.errors["when" if then is A.SCHEDULE else "form"] = saved.refused.message
        return answers.compose(form, queries.load_post(current_user.id, saved.post_id), saved.refused.status,
                               notices=["Your text is saved; the post was not scheduled."])
    return answers.leave(url_for("posts.index"), answers.saved(saved, then))


# ---------------------------------------------------------------- the live badge and the row


@bp.get("/posts/<post_id>/status")
@login_required
def status(post_id: str) -> ResponseReturnValue:
    post = queries.load_post(current_user.id, post_id)
    if not is_htmx():
        response = redirect(url_for("posts.detail", post_id=post_id))
        response.vary.add("HX-Request")
        return response
    return answers.badge(post, request.args.get("seen"))


@bp.get("/posts/<post_id>/row")
@login_required
def row(post_id: str) -> ResponseReturnValue:
    return answers.row(post_id)


@bp.get("/posts/<post_id>/<any(schedule, 'publish-now', retry, delete, 'confirm-published', resend):action>")
@login_required
def asking(post_id: str, action: str) -> ResponseReturnValue:
    """The row asking for an action: the schedule form, or a confirmation."""
    return answers.row(post_id, asking=Action(action.replace("-", "_")))


@bp.post("/posts/<post_id>/schedule")
@login_required
def schedule_post(post_id: str) -> ResponseReturnValue:
    form = PostForm.from_request(request.form)
    when = form.when(current_user.time_zone)
    if when is None:
        return answers.row(post_id, 400, asking=A.SCHEDULE, form=form)
    try:
        result = actions.schedule_post(core(), user_id=current_user.id, post_id=post_id, when=when,
                                       zone_name=current_user.time_zone)
    except (InvalidInput, Conflict) as exc:  # shown next to the date and time, with what was typed
        form.errors["when"] = exc.message
        return answers.row(post_id, exc.status, asking=A.SCHEDULE, form=form)
    return answers.acted(post_id, answers.scheduled(result))


@bp.post("/posts/<post_id>/unschedule")
@login_required
def unschedule_post(post_id: str) -> ResponseReturnValue:
    actions.unschedule_post(core(), user_id=current_user.id, post_id=post_id)
    return answers.acted(post_id, answers.Done(answers.SAID[A.UNSCHEDULE]))


@bp.post("/posts/<post_id>/publish-now")
@login_required
def publish_now_post(post_id: str) -> ResponseReturnValue:
    result = actions.publish_now(core(), user_id=current_user.id, post_id=post_id, zone_name=current_user.time_zone)
    return answers.acted(post_id, answers.scheduled(result, A.PUBLISH_NOW))


@bp.post("/posts/<post_id>/retry")
@login_required
def retry_post(post_id: str) -> ResponseReturnValue:
    result = actions.retry_post(core(), user_id=current_user.id, post_id=post_id, zone_name=current_user.time_zone)
    return answers.acted(post_id, answers.scheduled(result, A.RETRY))


@bp.post("/posts/<post_id>/duplicate")
@login_required
def duplicate_post(post_id: str) -> ResponseReturnValue:
    actions.duplicate_post(core(), user_id=current_user.id, post_id=post_id)
    return answers.acted(post_id, answers.Done(answers.SAID[A.DUPLICATE]))


@bp.post("/posts/<post_id>/delete")
@login_required
def delete_post(post_id: str) -> ResponseReturnValue:
    actions.delete_post(core(), user_id=current_user.id, post_id=post_id)
    return answers.gone(post_id, answers.Done(answers.SAID[A.DELETE]))


@bp.post("/posts/<post_id>/confirm-published")
@login_required
def confirm_published_post(post_id: str) -> ResponseReturnValue:
    """An unconfirmed post is on LinkedIn (its address, optional, gives its URN)."""
    typed = request.form.get("linkedin_post_url", "")
    try:
        actions.confirm_published(core(), user_id=current_user.id, post_id=post_id, post_url=typed,
                                  who=current_user.email)
    except InvalidInput as exc:  # not a LinkedIn post's address: said next to the field, with what was typed
        return answers.row(post_id, exc.status, asking=A.CONFIRM_PUBLISHED, error=exc.message, typed=typed[:2048])
    return answers.acted(post_id, answers.Done(answers.SAID[A.CONFIRM_PUBLISHED]))


@bp.post("/posts/<post_id>/resend")
@login_required
def resend_post(post_id: str) -> ResponseReturnValue:
    """An unconfirmed post is not on LinkedIn: send it again now, or at the date and time given."""
    form = PostForm.from_request(request.form)
    zone = current_user.time_zone
    when = form.when(zone) if form.date or form.time else None
    if form.errors:
        return answers.row(post_id, 400, asking=A.RESEND, form=form)
    try:
        result = actions.resend_post(core(), user_id=current_user.id, post_id=post_id, when=when, zone_name=zone)
    except InvalidInput as exc:  # the time: shown next to the date and time, with what was typed
        form.errors["when"] = exc.message
        return answers.row(post_id, exc.status, asking=A.RESEND, form=form)
    return answers.acted(post_id, answers.scheduled(result, A.RESEND if when is None else A.SCHEDULE))
