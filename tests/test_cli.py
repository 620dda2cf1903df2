"""The command line: users create, tokens create."""

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import User


def test_users_create_and_tokens_create(app, runner, client):
    result = runner.invoke(args=["users", "create", "--email", "Ada@Example.com", "--password", "correct horse",
                                 "--time-zone", "Europe/Paris"])
    assert result.exit_code == 0, result.output
    assert "ada@example.com" in result.output
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == "Europe/Paris"

    result = runner.invoke(args=["tokens", "create", "--email", "ada@example.com", "--name", "ci"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("pct_")
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cli_refuses_bad_input(app, runner):
    assert "at least 8" in runner.invoke(args=["users", "create", "--email", "a@b.co", "--password", "short"]).output
    assert "IANA" in runner.invoke(args=["users", "create", "--email", "a@b.co", "--password", "longenough",
                                         "--time-zone", "Nowhere/Land"]).output
    assert "no user" in runner.invoke(args=["tokens", "create", "--email", "ghost@b.co"]).output
    runner.invoke(args=["users", "create", "--email", "a@b.co", "--password", "longenough"])
    result = runner.invoke(args=["users", "create", "--email", "A@b.co", "--password", "longenough"])
    assert result.exit_code != 0 and "already" in result.output


# ---------------------------------------------------------------- worker and recover

import os  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from datetime import timedelta  # noqa: E402

import pytest  # noqa: E402

from webapp.models import utcnow  # noqa: E402

from .conftest import connect_linkedin, core_of, make_user, new_post, post_row  # noqa: E402
from .receiver import Answer, Receiver  # noqa: E402


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


def worker_env(database, receiver) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("N8N_", "QSTASH_", "APP_"))}
    env.update(DATABASE_URL=database.url, SECRET_KEY="test-secret-key", N8N_WEBHOOK_URL=receiver.url,
               N8N_TIMEOUT="5", SCHEDULER_BACKEND="local")
    return env


def test_worker_drains_in_flight_sends_on_sigterm_and_exits_0(app, database, receiver):
    receiver.answer = Answer(delay=1.5, body={"linkedinPostUrn": "urn:li:share:1"})
    owner = make_user(app)
    connect_linkedin(app, owner)
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "webapp", "worker"],
                              env=worker_env(database, receiver), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        post_id, _ = new_post(app, owner, at=utcnow() + timedelta(seconds=1))
        assert receiver.wait_for(1, timeout=20), "the worker never sent the post"
        worker.send_signal(signal.SIGTERM)  # mid-send: n8n is still answering
        output, _ = worker.communicate(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, output
    assert "SIGTERM: finishing in-flight sends" in output
    assert post_row(app, post_id).status == "published", output  # the in-flight send was finished and recorded
    assert len(receiver.arrivals) == 1


def test_recover_runs_one_sweep_and_prints_a_summary(app, runner, receiver):
    app.config["N8N_WEBHOOK_URL"] = receiver.url
    from webapp.runtime import build_core
    with app.app_context():
        app.extensions["punctual"] = build_core(app)
    owner = make_user(app)
    connect_linkedin(app, owner)
    now = utcnow()
    missed, _ = new_post(app, owner, "missed by a minute", at=now - timedelta(minutes=1), now=now - timedelta(hours=1))
    too_late, _ = new_post(app, owner, "a day late", at=now - timedelta(days=1), now=now - timedelta(days=2))
    result = runner.invoke(args=["recover"])
    assert result.exit_code == 0, result.output
    assert "Sweep: 1 sent (missed or stuck), 1 failed as too late, 0 alarms set; 2 in all." in result.output
    assert [a.body["content"] for a in receiver.arrivals] == ["missed by a minute"]
    assert post_row(app, too_late).error_kind == "missed"
    assert core_of(app).dispatcher.sweep().total == 0
