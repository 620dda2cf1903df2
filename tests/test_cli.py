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
