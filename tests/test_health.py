"""/healthz: database, backend, dispatcher heartbeat, overdue posts."""

from datetime import timedelta

from webapp.models import utcnow

from .conftest import core_of, make_user, new_post


def test_healthy_and_idle(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json
    offset = body.pop("clockOffsetSeconds")
    assert body == {"status": "ok", "database": "ok", "backend": "local",
                    "dispatcherHeartbeatAgeSeconds": None, "overdue": 0,
                    "oldestOverdueAgeSeconds": None, "publishing": 0, "pipelineCheck": None, "warnings": []}
    assert abs(offset) < 1  # the database runs on this machine, with its clock


def test_a_clock_that_disagrees_with_the_databases_is_reported(app, client):
    """"Never early" relies on the sender's clock: /healthz says when it is off."""
    app.config["CLOCK"] = lambda: utcnow() + timedelta(seconds=3)
    core_of(app).clock = app.config["CLOCK"]
    body = client.get("/healthz").json
    assert body["status"] == "warning" and body["clockOffsetSeconds"] < -2
    assert "differ by -3" in body["warnings"][0]


def test_overdue_posts_and_heartbeat_age(app, client):
    owner = make_user(app)
    now = utcnow()
    new_post(app, owner, at=now - timedelta(minutes=3), now=now - timedelta(minutes=4))
    new_post(app, owner, at=now - timedelta(minutes=1), now=now - timedelta(minutes=4))
    new_post(app, owner, at=now + timedelta(minutes=5), now=now)
    core_of(app).store.beat(name="test", started_at=now, now=now - timedelta(seconds=7))
    body = client.get("/healthz").json
    assert body["overdue"] == 2
    assert 180 <= body["oldestOverdueAgeSeconds"] < 200
    assert 7 <= body["dispatcherHeartbeatAgeSeconds"] < 20


def test_503_when_the_database_is_unreachable(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def down(**kwargs):
        raise OperationalError("SELECT", {}, Exception("could not connect"))

    monkeypatch.setattr(core_of(app).store, "health", down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable" and "unreachable" in response.json["database"]
