"""Blueprint `auth`: register, log in, log out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from ..models import User, utcnow
from ..web import wants_json
from . import throttle
from .forms import LoginForm, RegisterForm
from .users import create_user, find_user

bp = Blueprint("auth", __name__)

#: Checked against when the email is unknown, so both failures take the same time: a hash, made
#: with werkzeug's default method (scrypt, as create_user's are), of a random password nobody
#: kept. A constant, because computing one at import cost ~100 ms of every cold start.
_DUMMY_HASH = ("scrypt:32768:8:1$NYqdT83xyAXNZ1X4$81f2e7f71c407daf079a90ac0446e7f7133ad9f7e5fe4826992a258adbe625da"
               "865fcfc472a01c704b27d7c55b69097b2991fa1a7e708a13dae9ea282d39db63")
LOGIN_FAILED = "Wrong email or password."


def safe_next(target: str | None) -> str:
    """Only ever redirect inside the app: a path, never a scheme, host or protocol-relative URL."""
    fallback = url_for("posts.index")
    if not target:
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    if any(ch in target for ch in "\\\r\n\t"):
        return fallback
    return target


def throttled(refused: throttle.Throttled, template: str, **context) -> ResponseReturnValue:
    """429 with Retry-After and the sentence: JSON for a JSON request, else the form again."""
    if wants_json():
        response = jsonify(error=refused.message, retryAfter=refused.retry_after)
    else:
        flash(refused.message, "error")
        response = make_response(render_template(template, **context))
    response.status_code = 429
    response.headers["Retry-After"] = str(refused.retry_after)
    return response


def authenticate(email: str, password: str) -> User | None:
    """The user whose password this is, or None (the failure counted); Throttled before any hash
    is computed when the account or the client's address must wait."""
    now, address, account = utcnow(), throttle.client_address(), User.normalise_email(email)
    throttle.check_login(account, address, now)
    user = find_user(email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)  # same cost as a real check
    elif user.check_password(password):
        throttle.login_succeeded(account)
        return user
    throttle.login_failed(account, address, now)
    return None


@bp.get("/register")
def register_get():
    return render_template("auth/register.html", form=RegisterForm())


@bp.post("/register")
def register_post():
    form = RegisterForm()
    email, password = form.email.data or "", form.password.data or ""
    if form.validate_on_submit():
        address = throttle.client_address()
        try:
            throttle.check_register(address, utcnow())
        except throttle.Throttled as refused:
            return throttled(refused, "auth/register.html", form=form)
        throttle.register_attempted(address, utcnow())
        if find_user(email):
            form.email.errors = [*form.email.errors, "There is already an account with this email. Log in instead."]
        else:
            login_user(create_user(email, password, form.time_zone.data or "UTC"))
            flash("Welcome to Punctual. Write your first post below.", "success")
            return redirect(url_for("posts.index"))
    return render_template("auth/register.html", form=form), 400


@bp.get("/login")
def login_get():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=LoginForm(), next=request.args.get("next", ""))


@bp.post("/login")
def login_post():
    form = LoginForm()
    target = request.form.get("next") or request.args.get("next")
    email, password = form.email.data or "", form.password.data or ""
    if form.validate_on_submit():
        try:
            user = authenticate(email, password)
        except throttle.Throttled as refused:
            return throttled(refused, "auth/login.html", form=form, next=target or "")
        if user is not None:
            login_user(user)
            return redirect(safe_next(target))
        flash(LOGIN_FAILED, "error")
    return render_template("auth/login.html", form=form, next=target or ""), 400


@bp.post("/logout")
@login_required
def logout_post():
    logout_user()
    flash("You are logged out.", "success")
    return redirect(url_for("auth.login_get"))
