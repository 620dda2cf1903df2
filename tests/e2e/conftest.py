"""Browser tests: Debian's Chromium driven by Playwright against the real app on loopback, with the
local dispatcher running and a real HTTP receiver standing in for n8n.

One browser for the whole session (pytest-playwright's `browser`, launched from
/usr/bin/chromium); one live server for this package; every test has its own user, so tests do
not see each other's posts. Locally the tests skip with a reason when Chromium is missing; under
CI=true they fail instead.

They run on SQLite only by default: what they check is the browser side (htmx swaps, polling,
what is rendered), and every view and query they drive is also tested on both databases through
the Flask client; running the browser a second time would add ~40 s and no database coverage.
Set PUNCTUAL_E2E_POSTGRES=1 (with TEST_DATABASE_URL) to run them on Postgres as well.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from webapp import create_app, upgrade_database
from webapp.extensions import db
from webapp.models import utcnow
from webapp.runtime import new_local_dispatcher

from ..conftest import base_config, connect_linkedin, make_postgres_schema, need, wait_until  # noqa: F401
from ..receiver import Answer, Receiver

CHROMIUM = "/usr/bin/chromium"
#: The flags that keep Debian's Chromium headless, quiet and off the network (platforms.md).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic", "--disable-features=AsyncDns",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: The browser's (and so every new user's) time zone: not the server's, not UTC.
ZONE = "America/New_York"
PASSWORD = "correct horse battery"
#: A deliberately cheap hash for users made directly in the database (the real one takes ~0.2 s).
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches this instead of a downloaded browser (which cannot be fetched here)."""
    if not os.path.exists(CHROMIUM):
        need(f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium), so the browser tests cannot run.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url():
    """Tests address the live server themselves (pytest-base-url's own fixture warns on this pytest)."""
    return None


@dataclass
class Live:
    url: str
    app: object
    receiver: Receiver
    kind: str


def _database(kind: str, tmp: Path) -> tuple[str, callable]:
    """A database of the browser tests' own: the other tests empty theirs before every test."""
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'e2e.db'}", lambda: None
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        need("TEST_DATABASE_URL is not set, so the browser tests cannot run on Postgres.")
    return make_postgres_schema(base, "punctual_e2e")


E2E_DATABASES = ["sqlite"] + (["postgres"] if os.environ.get("PUNCTUAL_E2E_POSTGRES") == "1" else [])


@pytest.fixture(scope="package", params=E2E_DATABASES)
def live(request, tmp_path_factory):
    """The real app served on loopback, its local dispatcher running, n8n played by a Receiver."""
    tmp = tmp_path_factory.mktemp("e2e")
    url, drop = _database(request.param, tmp)
    quiet = logging.getLogger("werkzeug")
    level, quiet.level = quiet.level, logging.ERROR
    with Receiver() as receiver:
        # Every browser test comes from 127.0.0.1 and the server outlives each test: the
        # per-address limits would add up across tests (the per-account throttle still applies).
        app = create_app(base_config(tmp, url, N8N_WEBHOOK_URL=receiver.url, N8N_TIMEOUT=5.0,
                                     SWEEP_INTERVAL=1.0, RETRY_BASE_DELAY=0.5, THROTTLE_REGISTRATIONS=10_000,
                                     THROTTLE_ADDRESS_FAILURES=10_000))
        with app.app_context():
            upgrade_database(app)
        dispatcher = new_local_dispatcher(app).start()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        app.config["APP_URL"] = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield Live(app.config["APP_URL"], app, receiver, request.param)
        finally:
            server.shutdown()
            server.server_close()
            dispatcher.stop(timeout=3)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            drop()
            quiet.setLevel(level)


@pytest.fixture
def receiver(live):
    """n8n as each test wants it: answers 200 unless the test says otherwise."""
    live.receiver.answer = Answer()
    yield live.receiver
    live.receiver.answer = Answer()


def shoot(page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/ (look at them: it is what users see)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def local_time(instant: datetime, zone: str = ZONE) -> tuple[str, str]:
    """The date and time inputs' values for an instant, as a person in `zone` would type them."""
    at = instant.astimezone(ZoneInfo(zone))
    return at.date().isoformat(), at.strftime("%H:%M:%S")


class Person:
    """A user at the browser: registers through the real page, then drives the UI."""

    def __init__(self, live: Live, page, zone: str = ZONE):
        self.live, self.page, self.zone = live, page, zone
        self.email = f"user-{uuid.uuid4().hex[:10]}@example.com"

    def sign_in_directly(self):
        """A user made in the database and a signed session cookie: for tests about what comes
        after logging in (registering and logging in through the pages have tests of their own)."""
        from webapp.models import User

        with self.live.app.app_context():
            user = User(email=self.email, time_zone=self.zone, password_hash=FAST_HASH)
            db.session.add(user)
            db.session.commit()
            serializer = self.live.app.session_interface.get_signing_serializer(self.live.app)
            cookie = serializer.dumps({"_user_id": str(user.id), "_fresh": True})
        self.page.context.add_cookies([{"name": self.live.app.config["SESSION_COOKIE_NAME"], "value": cookie,
                                        "url": self.live.url}])
        return self

    def go(self, path: str):
        self.page.goto(self.live.url + path)
        return self.page

    def register(self):
        page = self.go("/register")
        page.fill("#email", self.email)
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(self.live.url + "/")
        return self

    def connect_linkedin_directly(self, expires_at: datetime | None = None):
        connect_linkedin(self.live.app, self.user_id, expires_at=expires_at or utcnow() + timedelta(days=50))
        return self

    def connect_linkedin(self, expires_on: str | None = None):
        """Through the Settings page, as a person would."""
        page = self.go("/settings")
        page.fill("#access_token", "AQV-browser-test-token-0123456789")
        page.fill("#person_urn", "urn:li:person:Browser1")
        page.fill("#expires_on", expires_on or (utcnow() + timedelta(days=50)).date().isoformat())
        page.get_by_role("button", name="Save connection").click()
        page.wait_for_url(self.live.url + "/settings")
        return self

    def compose(self, content: str, *, at: datetime | None = None, intent: str = "Schedule",
                image_url: str = ""):
        """Fill the compose form and press a button (Schedule, Publish now, Save draft)."""
        page = self.go("/posts/new")
        page.fill("#content", content)
        if image_url:
            page.fill("#image_url", image_url)
        if at is not None:
            day, clock = local_time(at, self.zone)
            page.fill("#date", day)
            page.fill("#time", clock)
        page.get_by_role("button", name=intent, exact=True).click()
        return page

    @property
    def user_id(self) -> int:
        from sqlalchemy import select

        from webapp.models import User

        with self.live.app.app_context():
            return db.session.execute(select(User.id).where(User.email == self.email)).scalar_one()

    def row(self, content: str, section: str | None = None):
        scope = self.page.locator(f"#section-{section}") if section else self.page
        return scope.locator("article.post", has_text=content)

    def more(self, row):
        """Open a row's "More" menu; its items."""
        row.locator("summary", has_text="More").click()
        return row.locator(".menu-items")

    def mark(self):
        """Leave a marker in the page's JavaScript: if the page reloads, it is gone."""
        self.page.evaluate("window.__notReloaded = true")

    def not_reloaded(self) -> bool:
        return self.page.evaluate("window.__notReloaded === true")


@pytest.fixture
def new_context(new_context):
    """pytest-playwright's contexts, each watching for what the Content-Security-Policy blocked
    (webapp/headers.py): the test fails if the browser refused anything or htmx wanted eval."""
    refused: list[str] = []

    def watch(message) -> None:
        text = message.text
        if "Content Security Policy" in text or "evalDisallowed" in text:
            refused.append(f"{message.type}: {text}")

    def make(**kwargs):
        context = new_context(**kwargs)
        context.on("console", watch)
        # Chromium reports every violation to the page as an event, even ones it does not log.
        context.add_init_script("document.addEventListener('securitypolicyviolation', (e) => console.error("
                                "'Content Security Policy refused ' + e.violatedDirective + ' ' + e.blockedURI));")
        return context

    yield make
    assert refused == [], "the browser refused something under the CSP"


@pytest.fixture
def person(live, new_context):
    """A new user, signed in, in a browser whose time zone is America/New_York."""
    page = new_context(timezone_id=ZONE, viewport={"width": 1200, "height": 900}).new_page()
    page.set_default_timeout(10_000)
    return Person(live, page).sign_in_directly()


