"""Settings: time zone, the LinkedIn connection (encrypted, masked), API tokens."""

from sqlalchemy import select, text

from webapp.extensions import db
from webapp.models import ApiToken, LinkedInConnection, User

from .conftest import csrf_from, make_token, make_user

SECRET_TOKEN = "AQXlinkedin-secret-token-1234567890abcdefWXYZ"


def save_connection(client, **overrides):
    token = csrf_from(client.get("/settings").text)
    data = {"csrf_token": token, "access_token": SECRET_TOKEN,
            "person_urn": "urn:li:person:AbC123", "expires_on": "2027-01-20"}
    data.update(overrides)
    return client.post("/settings/linkedin", data=data)


def test_change_time_zone(app, client, auth):
    auth.register(time_zone="UTC")
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/time-zone", data={"csrf_token": token, "time_zone": "Asia/Kolkata"})
    assert response.status_code == 302
    assert "Asia/Kolkata" in client.get("/settings").text
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == "Asia/Kolkata"


def test_an_unknown_time_zone_is_refused(app, client, auth):
    auth.register(time_zone="UTC")
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/time-zone", data={"csrf_token": token, "time_zone": "Europe/Atlantis"})
    assert response.status_code == 400
    assert "Pick a time zone from the list" in response.text
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == "UTC"


def test_linkedin_token_is_encrypted_at_rest_and_never_rendered(app, client, auth):
    auth.register()
    assert save_connection(client).status_code == 302
    page = client.get("/settings").text
    assert SECRET_TOKEN not in page
    assert "••••••••WXYZ" in page and "urn:li:person:AbC123" in page
    with app.app_context():
        raw = db.session.execute(text("SELECT access_token_encrypted FROM linkedin_connections")).scalar_one()
        assert SECRET_TOKEN not in raw
        connection = db.session.execute(select(LinkedInConnection)).scalar_one()
        assert connection.access_token == SECRET_TOKEN  # decrypts with the configured key
        assert SECRET_TOKEN not in repr(connection)
        assert connection.expires_at.isoformat() == "2027-01-20T23:59:59+00:00"


def test_linkedin_connection_validation(app, client, auth):
    auth.register()
    response = save_connection(client, person_urn="ada")
    assert response.status_code == 400 and "urn:li:person:" in response.text
    assert SECRET_TOKEN not in response.text  # a refused form does not echo the token back
    with app.app_context():
        assert db.session.execute(select(LinkedInConnection)).first() is None


def test_reconnect_replaces_and_disconnect_deletes(app, client, auth):
    auth.register()
    save_connection(client)
    save_connection(client, access_token="second-token-abcdefgh-9876", person_urn="urn:li:person:Zz9")
    with app.app_context():
        connection = db.session.execute(select(LinkedInConnection)).scalar_one()
        assert connection.person_urn == "urn:li:person:Zz9"
        assert connection.access_token == "second-token-abcdefgh-9876"
    token = csrf_from(client.get("/settings").text)
    client.post("/settings/linkedin/disconnect", data={"csrf_token": token})
    with app.app_context():
        assert db.session.execute(select(LinkedInConnection)).first() is None


def test_api_token_is_shown_once_then_listed_masked_and_revocable(app, client, auth):
    auth.register()
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/tokens", data={"csrf_token": token, "name": "zapier"})
    assert response.status_code == 200
    shown = response.text.split('id="new-token">')[1].split("<")[0]
    assert shown.startswith("pct_")
    assert shown not in client.get("/settings").text  # only once
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {shown}"}).status_code == 200

    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    csrf = csrf_from(client.get("/settings").text)
    assert client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {shown}"}).status_code == 401
    assert "revoked" in client.get("/settings").text


def test_revoking_another_users_token_is_404_and_changes_nothing(app, client, auth):
    other = make_user(app, email="mallory@example.com")
    other_token = make_token(app, other)
    auth.register()
    with app.app_context():
        token_id = db.session.execute(select(ApiToken.id).where(ApiToken.user_id == other)).scalar_one()
    csrf = csrf_from(client.get("/settings").text)
    assert client.post(f"/settings/tokens/{token_id}/revoke", data={"csrf_token": csrf}).status_code == 404
    assert client.get("/api/posts", headers={"Authorization": f"Bearer {other_token}"}).status_code == 200
