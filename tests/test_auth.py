"""Accounts: register, log in, log out, CSRF, redirects, cookies."""

import re

import pytest
from sqlalchemy import select

from webapp.accounts.auth import LOGIN_FAILED
from webapp.extensions import db
from webapp.models import User

from .conftest import make_user


def test_register_logs_in_and_keeps_the_browser_time_zone(app, client, auth):
    response = auth.register(email="Ada@Example.com", time_zone="America/Los_Angeles")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.email == "ada@example.com"
        assert user.time_zone == "America/Los_Angeles"
        assert user.password_hash != "correct horse"


def test_register_falls_back_to_utc_for_a_missing_or_bogus_zone(app, auth):
    auth.register(time_zone="Mars/Olympus_Mons")
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == "UTC"


@pytest.mark.parametrize("email, password, message", [
    ("ada@example.com", "short", "Use at least 8 characters."),
    ("not-an-email", "correct horse", "Enter an email address"),
    ("", "correct horse", "Enter your email."),
])
def test_register_refuses_bad_input_with_a_sentence(app, auth, email, password, message):
    response = auth.register(email=email, password=password)
    assert response.status_code == 400
    assert message in response.text
    with app.app_context():
        assert db.session.execute(select(User)).first() is None


def test_register_refuses_an_email_that_exists_in_any_case(app, auth):
    make_user(app, email="ada@example.com")
    response = auth.register(email="ADA@example.COM")
    assert response.status_code == 400
    assert "already an account" in response.text


def test_login_and_logout(app, client, auth):
    make_user(app)
    response = auth.login()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_login_is_case_insensitive_on_email(app, auth):
    make_user(app, email="ada@example.com")
    assert auth.login(email="  ADA@Example.com ").status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_answer(app, auth):
    make_user(app)
    wrong_password = auth.login(password="not the password")
    unknown_email = auth.login(email="nobody@example.com")
    assert wrong_password.status_code == unknown_email.status_code == 400
    assert LOGIN_FAILED in wrong_password.text and LOGIN_FAILED in unknown_email.text
    assert unknown_email.text.count(LOGIN_FAILED) == wrong_password.text.count(LOGIN_FAILED)


@pytest.mark.parametrize("target, expected", [
    ("/settings", "/settings"),
    ("/settings?tab=tokens", "/settings?tab=tokens"),
    ("https://evil.example.com/", "/"),
    ("//evil.example.com/", "/"),
    ("/\\evil.example.com", "/"),
    ("javascript:alert(1)", "/"),
    ("http:/evil.example.com", "/"),
    ("settings", "/"),
    ("/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"),
])
def test_next_only_redirects_inside_the_app(app, auth, target, expected):
    make_user(app)
    response = auth.login(next_=target)
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_pages_redirect_to_login_with_next(client):
    response = client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/settings"


@pytest.mark.parametrize("path, data", [
    ("/login", {"email": "ada@example.com", "password": "correct horse"}),
    ("/register", {"email": "eve@example.com", "password": "correct horse"}),
])
def test_forms_without_a_csrf_token_are_refused(app, client, path, data):
    make_user(app)
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "security token" in response.text
    with app.app_context():
        assert db.session.execute(select(User.email)).scalars().all() == ["ada@example.com"]


def test_logout_needs_a_csrf_token(app, client, auth):
    make_user(app)
    auth.login()
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in


def test_session_cookie_is_httponly_and_samesite_lax(app, auth):
    make_user(app)
    response = auth.login()
    cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development; production sets Secure (test_config)


def test_an_unknown_email_costs_the_same_hash_as_a_real_account():
    """The dummy hash checked for unknown emails uses the method new accounts get (same cost)."""
    from werkzeug.security import generate_password_hash

    from webapp.accounts.auth import _DUMMY_HASH

    assert _DUMMY_HASH.split("$")[0] == generate_password_hash("anything").split("$")[0]


def test_the_register_page_says_what_a_password_needs_and_asks_for_an_email(client):
    page = client.get("/register").text
    assert re.search(r'<input[^>]*id="email"[^>]*type="email"|<input[^>]*type="email"[^>]*id="email"', page)
    assert re.search(r'<input[^>]*aria-describedby="password-hint"', page)
    assert '<p class="hint" id="password-hint">At least 8 characters.</p>' in page


def test_the_favicon_is_served_at_the_root_and_linked_from_every_page(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\0\0\1\0"  # an ICO file
    page = client.get("/login").text
    assert '<link rel="icon" href="/favicon.ico"' in page and 'href="/static/favicon.svg"' in page
