"""What each template renders: one builder per widget (status badge, post row) and per page
(dashboard, post page, compose form). Views call these and nothing else builds template context,
so a page can never be rendered without something an included partial needs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app, request, url_for
from flask_login import current_user

from . import dashboard, live, queries, timeutil
from .config import demo_inbox_enabled
from .dispatch.errors import Conflict
from .dispatch.states import PostStatus
from .models import Post
from .post_form import PostForm
from .runtime import core

S = PostStatus

#: What the owner may do to a post in each status. Publishing and published posts offer nothing
#: that would contradict that (the server refuses with 409 anyway).
ACTIONS: dict[PostStatus, tuple[str, ...]] = {
    S.DRAFT: ("edit", "schedule", "publish", "duplicate", "delete"),
    S.SCHEDULED: ("edit", "schedule", "unschedule", "publish", "duplicate", "delete"),
    S.PUBLISHING: ("duplicate",),
    S.PUBLISHED: ("duplicate",),
    S.FAILED: ("retry", "schedule", "edit", "unschedule", "duplicate", "delete"),
}

#: A row's inline states (besides the plain one) and the action each leads to.
MODES = {
    "schedule": "schedule",
    "confirm-publish": "publish",
    "confirm-retry": "retry",
    "confirm-delete": "delete",
}

#: For refusals: "it cannot be <past> now".
PAST = {
    "edit": "edited", "schedule": "scheduled", "unschedule": "unscheduled", "publish": "published now",
    "retry": "retried", "duplicate": "copied", "delete": "deleted",
}

EXCERPT = 280
#: A scheduled post this far past its time, and not waiting for a retry, gets a note on its row.
OVERDUE = timedelta(minutes=1)


def now() -> datetime:
    return core().clock()


def demo() -> bool:
    return demo_inbox_enabled(current_app.config)


def stamp(post: Post) -> str:
    """Changes whenever the dispatcher moves the post (status, version, tries)."""
    return f"{post.status}.{post.schedule_version}.{post.attempt_count}"


def viewing_detail(post_id: str) -> bool:
    """True on the post's own page (or for an htmx request made from it)."""
    here = urlsplit(request.headers.get("HX-Current-URL", "")).path or request.path
    return here == url_for("posts.detail", post_id=post_id)


# ---------------------------------------------------------------- the status badge


@dataclass(frozen=True)
class Status:
    post_id: str
    status: str
    stamp: str
    poll: live.Poll

    @property
    def final(self) -> bool:
        return live.is_final(self.status)


def status_of(post: Post, at: datetime) -> Status:
    due = live.due_at(post.scheduled_at, post.next_attempt_at)
    return Status(post.id, post.status, stamp(post), live.poll_for(post.status, due, at))


def seen_status(seen: str | None) -> str | None:
    """The status part of a stamp the browser sent back (None if it is not one of ours)."""
    status = (seen or "").split(".", 1)[0]
    return status if status in set(S) else None


def status_sentence(post: Post) -> str:
    """What the live region announces when a post's status changed."""
    title = excerpt(post.content, 40)
    if post.status == S.FAILED:
        return f"Post “{title}” failed: {dashboard.FAILURE_LABELS.get(post.error_kind or '', 'see why')}."
    return f"Post “{title}” is now {post.status}."


def clock(instant: datetime | None, zone_name: str) -> str:
    """The wall-clock time of an instant in the zone: 09:00, or 09:00:07 when the seconds matter."""
    if instant is None:
        return ""
    at = timeutil.local(instant, zone_name)
    return f"{at:%H:%M:%S}" if at.second else f"{at:%H:%M}"


def excerpt(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------- a post row


@dataclass
class Row:
    post: Post
    status: Status
    zone: str
    actions: tuple[str, ...]
    mode: str | None = None
    detail: bool = False
    when: str = ""
    relative: str = ""
    next_try: str = ""
    overdue: bool = False
    missed_after: str = ""
    risk: str | None = None
    failure: str | None = None
    linkedin: str | None = None
    form: PostForm | None = None
    error: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        content = self.post.content
        if self.detail or len(content) <= EXCERPT:
            return content
        return content[: EXCERPT - 1].rstrip() + "…"

    @property
    def retrying(self) -> bool:
        return self.post.status == S.SCHEDULED and self.post.error_kind == "retrying"

    @property
    def title(self) -> str:
        return excerpt(self.post.content)


def row_of(post: Post, *, mode: str | None = None, error: str | None = None, form: PostForm | None = None,
           notices: tuple[str, ...] | list[str] = ()) -> Row:
    """The row widget for a post, in one of its states (plain, inline schedule form, a confirmation)."""
    at, zone = now(), current_user.time_zone
    status = S(post.status)
    actions = ACTIONS[status]
    if mode == "schedule" and form is None:
        form = PostForm.for_post(post, zone, at)
    due = live.due_at(post.scheduled_at, post.next_attempt_at)
    pending = status in (S.SCHEDULED, S.PUBLISHING)
    return Row(
        post=post, status=status_of(post, at), zone=zone, actions=actions, mode=mode,
        detail=viewing_detail(post.id),
        when=dashboard.format_when(post.published_at if status == S.PUBLISHED else post.scheduled_at, zone),
        relative=timeutil.relative(post.scheduled_at, at) if pending else "",
        next_try=timeutil.relative(due, at) if status == S.SCHEDULED and post.next_attempt_at else "",
        overdue=status == S.SCHEDULED and not post.next_attempt_at and due is not None and due < at - OVERDUE,
        missed_after=dashboard.format_when(
            post.scheduled_at + timedelta(seconds=current_app.config["MAX_LATENESS"]), zone) if pending else "",
        risk=(dashboard.token_risk(current_user.linkedin, post.scheduled_at, at, zone, demo=demo())
              if status == S.SCHEDULED else None),
        failure=dashboard.FAILURE_LABELS.get(post.error_kind or "", "Failed") if status == S.FAILED else None,
        linkedin=dashboard.linkedin_url(post.linkedin_post_urn) if status == S.PUBLISHED else None,
        form=form, error=error, notices=list(filter(None, notices)),
    )


def refuse_mode(post: Post, mode: str) -> Conflict | None:
    """A Conflict when the post's status does not allow the action a mode leads to."""
    if MODES.get(mode) in ACTIONS[S(post.status)]:
        return None
    return Conflict(f"This post is {post.status}; that is not possible any more.")


# ---------------------------------------------------------------- pages


def dashboard_page(expand: str | None = None) -> dict:
    """Everything the dashboard (page or refreshed fragment) renders: each section's first posts
    (all of them for the `expand`ed one), how many each has, the week ahead, the warnings."""
    at, zone, user_id = now(), current_user.time_zone, current_user.id
    expand = expand if expand in dashboard.SECTION_STATUS else None
    counts = queries.count_by_status(user_id)
    sections = dashboard.group(queries.first_posts(user_id, {
        status: None if key == expand else dashboard.SECTION_LIMIT[key]
        for key, status in dashboard.SECTION_STATUS.items()}))
    connection = current_user.linkedin
    risk_from = connection.expires_at if connection is not None and connection.expires_at else at
    at_risk, at_risk_total = queries.scheduled_from(user_id, risk_from, limit=dashboard.AT_RISK_SHOWN)
    warnings = [replace(w, more=max(0, at_risk_total - len(w.posts)) if w.posts else 0)
                for w in dashboard.warnings(connection, at_risk, at, zone, demo=demo())]
    return {
        "rows": {key: [row_of(p) for p in group] for key, group in sections.items()},
        "totals": {key: counts.get(status, 0) for key, status in dashboard.SECTION_STATUS.items()},
        "expand": expand,
        "sections": dashboard.SECTIONS,
        "week": dashboard.week(queries.pending_before(user_id, at + timedelta(days=dashboard.WEEK_DAYS + 1)), at, zone),
        "warnings": warnings,
        "has_posts": bool(counts),
        "connected": connection is not None,
        "server_now": timeutil.iso_z(at),
    }


def detail_page(post_id: str) -> dict:
    """The post's own page: its row (status, time, actions), every fact, and the attempt history."""
    post = queries.load_post(current_user.id, post_id, with_attempts=True)
    return {
        "row": row_of(post),
        "post": post,
        "attempts": list(reversed(post.attempts)),
        "scheduled_utc": f"{post.scheduled_at:%Y-%m-%d %H:%M:%S} UTC" if post.scheduled_at else "",
        "server_now": timeutil.iso_z(now()),
    }


def compose_page(form: PostForm, post: Post | None = None, *, notices=()) -> dict:
    """The compose / edit form in any state: blank, an existing post, or what was typed plus errors."""
    at, zone = now(), current_user.time_zone
    try:
        chosen = timeutil.resolve_local(
            datetime.fromisoformat(f"{form.date}T{form.time}"), zone).instant
    except ValueError:  # not a complete date and time yet (TimeInputError is a ValueError too)
        chosen = at
    return {
        "form": form,
        "post": post,
        "action": url_for("posts.edit_post", post_id=post.id) if post else url_for("posts.compose_post"),
        "zone": zone,
        "offset": timeutil.format_offset(timeutil.local(chosen, zone)),
        "risk": dashboard.token_risk(current_user.linkedin, chosen, at, zone, demo=demo()),
        "save_label": "Save draft" if post is None or post.status == S.DRAFT else "Save changes",
        "schedule_label": "Reschedule" if post is not None and post.status == S.SCHEDULED else "Schedule",
        "notices": [n for n in notices if n],
    }
