"""Fixtures for the QStash path: the stand-in, the real app served on loopback (so QStash's
deliveries arrive over real HTTP and their signatures are verified for real), and n8n's receiver.

tests/conftest.py registers this module as a plugin, so every test module can ask for these
fixtures by name; import only the helpers (`qstash_app_config`, the constants).
"""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from .conftest import connect_linkedin
from .qstash_standin import CURRENT_KEY, NEXT_KEY, TOKEN, QStashStandIn
from .receiver import Receiver

CRON_SECRET = "cron-secret-for-tests-0123456789"
#: A public base URL unlike the test client's http://localhost: signatures must be checked
#: against APP_URL, exactly as QStash was given it, not against the URL the request arrived at.
PUBLIC_APP_URL = "https://punctual.example.com"
#: A signing key that is neither the current nor the next one.
OTHER_KEY = "sig_someoneElsesKey0123456789abcd"


class _QuietHandler(WSGIRequestHandler):
    def log(self, *args):
        pass


class LiveServer:
    """The app on a loopback port, threaded. The port is known before the app exists, so the
    app can be built with APP_URL pointing here; attach it with `live.app = app`."""

    def __init__(self):
        self.app = None
        self.server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _wsgi(self, environ, start_response):
        return self.app(environ, start_response)

    def __enter__(self) -> LiveServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def qstash_app_config(standin: QStashStandIn, app_url: str, receiver: Receiver, **overrides) -> dict:
    """Overrides for an app on the QStash backend, publishing to the stand-in, sending to `receiver`."""
    return {
        "SCHEDULER_BACKEND": "qstash", "QSTASH_TOKEN": TOKEN, "QSTASH_URL": standin.url,
        "QSTASH_CURRENT_SIGNING_KEY": CURRENT_KEY, "QSTASH_NEXT_SIGNING_KEY": NEXT_KEY,
        "CRON_SECRET": CRON_SECRET, "APP_URL": app_url, "N8N_WEBHOOK_URL": receiver.url,
        "N8N_TIMEOUT": 2.0, "RETRY_BASE_DELAY": 0.5, **overrides,
    }


@pytest.fixture
def short_clock_tolerance(monkeypatch):
    """1 s instead of 5: a signature from the future is refused after waiting 1 s, not 5."""
    monkeypatch.setattr("webapp.dispatch.alarms.qstash.CLOCK_TOLERANCE", 1.0)


@pytest.fixture
def standin():
    with QStashStandIn() as q:
        yield q


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def live():
    with LiveServer() as server:
        yield server


@pytest.fixture
def served(app, live):
    """The test's app, reachable at live.url (APP_URL) while the test runs."""
    live.app = app
    return live


@pytest.fixture
def owner(app):
    """A user with LinkedIn connected. No password: these tests never log in, and hashing one
    costs a fifth of a second per test."""
    from webapp.extensions import db
    from webapp.models import User

    with app.app_context():
        user = User(email="ada@example.com", password_hash="!", time_zone="Europe/Berlin")
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    connect_linkedin(app, user_id)
    return user_id


