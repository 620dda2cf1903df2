"""htmx conventions in one place: page vs fragment, Vary, stopping polls, change events."""

from __future__ import annotations

from flask import Flask, make_response, render_template, request

#: htmx stops polling an element whose request answers 286 (and still swaps the body in).
STOP_POLLING = 286
#: Event sent in HX-Trigger after any change to a post; lists refresh on it.
POSTS_CHANGED = "posts-changed"


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-History-Restore-Request") != "true"


def render_page_or_partial(page: str, partial: str, status: int = 200, **context):
    """The full page for a normal request, only the fragment for an htmx one; caches told apart."""
    response = make_response(render_template(partial if is_htmx() else page, **context), status)
    response.vary.add("HX-Request")
    return response


def changed(response, event: str = POSTS_CHANGED):
    """Tell the page (HX-Trigger) that posts changed, so lists listening for it refresh."""
    response.headers["HX-Trigger"] = event
    return response


def init_app(app: Flask) -> None:
    app.jinja_env.globals["STOP_POLLING"] = STOP_POLLING
