"""Settings: time zone, the LinkedIn connection (encrypted, masked), API tokens."""

import re

import pytest
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


@pytest.mark.parametrize("typed, stored", [
    ("US/Eastern", "America/New_York"),  # IANA's old names map to the zone they link to
    ("Asia/Calcutta", "Asia/Kolkata"),
    ("Europe/Kiev", "Europe/Kyiv"),
    ("europe/berlin", "Europe/Berlin"),  # any letter case
    ("Berlin", "Europe/Berlin"),  # a city alone, where it names one zone
    ("Europe/Berlin — UTC+01:00", "Europe/Berlin"),  # the picker's own label
    ("Etc/UTC", "UTC"),
])
def test_a_zone_is_stored_under_its_canonical_name(app, client, auth, typed, stored):
    auth.register(time_zone="UTC")
    response = client.post("/settings/time-zone", data={"csrf_token": auth.csrf(), "time_zone": typed})
    assert response.status_code == 302
    assert f"Times are now shown and entered in {stored}." in client.get("/settings").text
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == stored


def test_the_zone_picker_lists_canonical_zones_with_their_offset_and_no_aliases(client, auth):
    auth.register(time_zone="Europe/Berlin")
    page = client.get("/settings").text
    assert 'list="zone-list"' in page and 'value="Europe/Berlin"' in page
    assert re.search(r'<option value="Europe/Berlin">Europe/Berlin — UTC\+0[12]:00</option>', page)
    assert re.search(r'<option value="Asia/Kolkata">Asia/Kolkata — UTC\+05:30</option>', page)
    assert '<option value="US/Eastern">' not in page and '<option value="Asia/Calcutta">' not in page


def test_registering_with_an_old_zone_name_stores_the_canonical_one(app, auth):
    auth.register(time_zone="Asia/Calcutta")  # what some Chrome versions report
    with app.app_context():
        assert db.session.execute(select(User.time_zone)).scalar_one() == "Asia/Kolkata"


def test_an_unknown_time_zone_is_refused(app, client, auth):
    auth.register(time_zone="UTC")
    token = csrf_from(client.get("/settings").text)
    response = client.post("/settings/time-zone", data={"csrf_token": token, "time_zone": "Europe/Atlantis"})
    assert response.status_code == 400
    assert "is not a time zone we know: pick one from the list" in response.text
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


def test_in_demo_mode_settings_says_linkedin_is_not_needed(client, auth):
    auth.register()
    page = client.get("/settings").text
    assert "Demo mode needs no LinkedIn" in page
    assert "scheduled posts cannot be published" not in page


class TestWithN8n:
    @pytest.fixture
    def config_overrides(self, n8n_config):
        return n8n_config

    def test_without_a_connection_settings_says_posts_cannot_be_published(self, client, auth):
        auth.register()
        page = client.get("/settings").text
        assert "LinkedIn is not connected: scheduled posts cannot be published" in page
        assert "Demo mode needs no LinkedIn" not in page
