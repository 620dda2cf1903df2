"""App-wide request handling: who is asking (session or API token), CSRF, errors, template helpers."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Flask,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from . import crypto, timeutil
from .config import demo_inbox_enabled
from .dispatch.errors import PunctualError
from .extensions import csrf, db, login_manager
from .htmx import is_htmx
from .models import ApiToken, User, utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.is_json


def csrf_exempt(view):
    """Mark a view as exempt from the CSRF check (signed machine-to-machine endpoints only)."""
    view.csrf_exempt = True
    return csrf.exempt(view)


@login_manager.user_loader
def _user_from_session(user_id: str) -> User | None:
    # A request that carries an Authorization header is authenticated by that header alone.
    if request.headers.get("Authorization"):
        return None
    return db.session.get(User, int(user_id))


@login_manager.request_loader
def _user_from_token(req) -> User | None:
    token = bearer_token()
    if not token:
        return None
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == crypto.hash_api_token(token),
                               ApiToken.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    g.api_token_auth = True
    return db.session.get(User, row.user_id)


@login_manager.unauthorized_handler
def _unauthorized():
    if wants_json():
        return jsonify(error="Log in, or send an API token as 'Authorization: Bearer <token>'."), 401
    if is_htmx():
        # A fragment request (a poll, a row action) must not swap the login page into a widget:
        # send the whole page there, coming back to the page the user was on.
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        back = (page.path + (f"?{page.query}" if page.query else "")) if page.path else None
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login_get", next=back)
        return response
    return redirect(url_for("auth.login_get", next=request.full_path.rstrip("?")))


def _check_csrf():
    """Every state-changing request from a browser needs the CSRF token; API tokens do not."""
    if request.method in SAFE_METHODS or request.headers.get("Authorization"):
        return
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None or getattr(view, "csrf_exempt", False):
        return
    csrf.protect()


def error_response(status: int, message: str) -> ResponseReturnValue:
    """An error, in the form the request wants: JSON for the API, a fragment for htmx, else a page."""
    if wants_json():
        return jsonify(error=message), status
    if is_htmx():  # swapped into the widget that asked, not a whole page inside it
        return render_template("_error.html", status=status, message=message), status
    return render_template("error.html", status=status, message=message), status


def init_app(app: Flask) -> None:
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_check_csrf)

    @app.errorhandler(PunctualError)
    def _punctual_error(exc: PunctualError):
        return error_response(exc.status, exc.message)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        message = "The form's security token is missing or expired; reload the page and try again."
        if is_htmx() and not wants_json():
            # Swap nothing, so a form keeps what was typed; say why in the page's live region.
            response = make_response(render_template("_announce.html", message=message), 400)
            response.headers["HX-Reswap"] = "none"
            return response
        return error_response(400, message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        messages = {
            404: "There is nothing here.",
            405: "That method is not allowed here.",
            413: "That request is too large.",
        }
        code = exc.code or 500
        if code == 413 and request.max_content_length:
            return error_response(413, f"That request is too large: at most {request.max_content_length:,} "
                                       "bytes are accepted here.")
        return error_response(code, messages.get(code, exc.description or exc.name))

    @app.errorhandler(500)
    def _server_error(exc):
        return error_response(500, "Something went wrong on our side. Please try again in a moment.")

    @app.context_processor
    def _template_globals():
        zone = current_user.time_zone if current_user.is_authenticated else "UTC"
        now = utcnow()
        return {
            "demo_mode": demo_inbox_enabled(app.config),
            "user_zone": zone,
            #: the zone's offset now ("UTC-05:00"), named beside it once per page
            "user_offset": timeutil.format_offset(timeutil.local(now, zone)),
            "now": now,
        }

    @app.get("/favicon.ico")
    def favicon():
        """Browsers and tools ask for it at the root whatever the page links (static/favicon.ico)."""
        return send_from_directory(app.static_folder or "static", "favicon.ico",
                                   mimetype="image/vnd.microsoft.icon", max_age=86400)

    app.jinja_env.filters["local"] = lambda instant, zone="UTC", zone_named=True: timeutil.format_local(
        instant, zone, zone_named=zone_named)
    app.jinja_env.filters["relative"] = lambda instant: timeutil.relative(instant, now=utcnow())
    app.jinja_env.filters["iso"] = timeutil.iso_z
