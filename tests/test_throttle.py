"""Log-in and registration throttling (webapp/accounts/throttle.py): counted in the database so it
holds across processes; 429 with Retry-After and a sentence, in the form and in JSON; success
clears the account; a growing, capped per-account delay (never a lock-out) plus a per-address
limit; no password hashing for a throttled attempt."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from webapp import create_app
from webapp.accounts import auth as auth_views
from webapp.accounts import throttle
from webapp.extensions import db
from webapp.models import auth_failures, utcnow

from .conftest import base_config, configured, csrf_from
from .factories import quick_user

RIGHT, WRONG = "correct horse", "wrong horse"


def log_in(client, password, email="ada@example.com", *, address="198.51.100.7", **extra):
    token = csrf_from(client.get("/login").text)
    return client.post("/login", data={"csrf_token": token, "email": email, "password": password},
                       environ_base={"REMOTE_ADDR": address}, **extra)


def age_failures(app, seconds: float) -> None:
    """As if every recorded failure happened `seconds` earlier."""
    with app.app_context():
        rows = db.session.execute(sa.select(auth_failures.c.id, auth_failures.c.at)).all()
        for row_id, at in rows:
            db.session.execute(sa.update(auth_failures).where(auth_failures.c.id == row_id)
                               .values(at=at - timedelta(seconds=seconds)))
        db.session.commit()


@pytest.fixture
def hashes(monkeypatch):
    """Counts password checks (each one is scrypt's CPU for a real account)."""
    calls = []
    real = auth_views.check_password_hash
    monkeypatch.setattr(auth_views, "check_password_hash", lambda *a: calls.append("dummy") or real(*a))
    real_check = auth_views.User.check_password
    monkeypatch.setattr(auth_views.User, "check_password", lambda self, p: calls.append("user") or real_check(self, p))
    return calls


def test_forty_wrong_passwords_are_throttled_and_the_right_one_works_once_the_wait_is_over(app, client, hashes):
    quick_user(app)
    answers = [log_in(client, WRONG) for _ in range(40)]
    assert [a.status_code for a in answers[:5]] == [400] * 5  # the first five cost nothing
    throttled = answers[5:]
    assert {a.status_code for a in throttled} == {429}
    assert len(hashes) == 5  # a throttled attempt computes no hash
    for answer in throttled:
        wait = int(answer.headers["Retry-After"])
        assert 1 <= wait <= 2
        assert f"Too many failed log-ins for this account. Try again in {wait} second" in answer.text
        assert 'value="ada@example.com"' in answer.text  # the form comes back as typed
    # the right password is throttled too (the attacker cannot test it), until the wait is over
    assert log_in(client, RIGHT).status_code == 429 and len(hashes) == 5
    age_failures(app, 3)
    assert log_in(client, RIGHT).status_code == 302
    with app.app_context():  # success clears the account's failures (the address's stay counted)
        scopes = db.session.execute(sa.select(auth_failures.c.scope)).scalars().all()
        assert scopes == ["address"] * 5


def test_the_delay_grows_and_is_capped_so_no_one_is_locked_out(app):
    with app.test_request_context():
        delays = [throttle.account_delay(n) for n in range(13)]
        assert delays == [0, 0, 0, 0, 0, 2, 4, 8, 16, 32, 60, 60, 60]
        now = utcnow()
        for _ in range(200):  # an attacker's failures, all at once
            throttle.login_failed("ada@example.com", "203.0.113.9", now)
        with pytest.raises(throttle.Throttled) as refused:
            throttle.check_login("ada@example.com", "198.51.100.7", now + timedelta(seconds=59))
        assert refused.value.retry_after == 1
        throttle.check_login("ada@example.com", "198.51.100.7", now + timedelta(seconds=60))  # the owner's turn


def test_the_throttle_holds_across_processes(app, client, database, tmp_path):
    quick_user(app)
    other = create_app(base_config(tmp_path / "other", database.url))  # another instance, same database
    for _ in range(5):
        assert log_in(client, WRONG).status_code == 400
    refused = log_in(other.test_client(), RIGHT)
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    with other.app_context():
        db.engine.dispose()


@configured({"THROTTLE_ADDRESS_FAILURES": 3}, "3 per address")
def test_one_address_cannot_spray_many_accounts(app, client, hashes):
    for n in range(3):
        assert log_in(client, WRONG, email=f"user{n}@example.com").status_code == 400
    refused = log_in(client, WRONG, email="user9@example.com")
    assert refused.status_code == 429 and len(hashes) == 3
    assert re.search(r"Too many failed log-ins from your network. Try again in 15 minutes.", refused.text)
    assert 14 * 60 < int(refused.headers["Retry-After"]) <= 15 * 60
    # another address is not affected, and an IPv6 client counts by its /64
    assert log_in(client, WRONG, email="user9@example.com", address="2001:db8:1:2::5").status_code == 400
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2::6"}):
        assert throttle.client_address() == "2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:198.51.100.7"}):
        assert throttle.client_address() == "198.51.100.7"


def test_a_json_client_gets_json(app, client):
    quick_user(app)
    token = csrf_from(client.get("/login").text)
    for _ in range(6):
        answer = client.post("/login", json={"email": "ada@example.com", "password": WRONG},
                             headers={"X-CSRFToken": token})
    assert answer.status_code == 429 and answer.is_json
    assert answer.json == {"error": f"Too many failed log-ins for this account. Try again in "
                                    f"{answer.json['retryAfter']} seconds.", "retryAfter": 2}
    assert answer.headers["Retry-After"] == "2"


@configured({"THROTTLE_REGISTRATIONS": 2}, "2 registrations")
def test_registrations_per_address_are_limited(app, client, auth):
    assert auth.register(email="one@example.com").status_code == 302
    auth.logout()
    assert auth.register(email="one@example.com").status_code == 400  # already there: still counted
    refused = auth.register(email="three@example.com")
    assert refused.status_code == 429 and "Too many registrations from your network" in refused.text
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count()).select_from(sa.text("users"))).scalar() == 1


@configured({"TRUSTED_PROXIES": 1}, "behind one proxy")
def test_behind_a_trusted_proxy_the_forwarded_address_counts(app, client):
    for n in range(5):
        log_in(client, WRONG, address="10.0.0.1", headers={"X-Forwarded-For": f"198.51.100.{n}"})
    with app.app_context():
        keys = set(db.session.execute(sa.select(auth_failures.c.key).where(auth_failures.c.scope == "address"))
                   .scalars())
    assert len(keys) == 5  # five clients, not the proxy's one address


def test_old_failures_are_deleted_as_new_ones_are_written(app):
    with app.test_request_context():
        long_ago = utcnow() - timedelta(hours=2)
        throttle.login_failed("old@example.com", "198.51.100.1", long_ago)
        throttle.login_failed("new@example.com", "198.51.100.2", utcnow())
        # the two-hour-old pair went when the new pair was written
        assert db.session.execute(sa.select(sa.func.count()).select_from(auth_failures)).scalar() == 2
