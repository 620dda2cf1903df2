"""The JSON post API: contract, validation, authentication."""

from datetime import datetime

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Post

from .conftest import bearer

ISO_Z = "%Y-%m-%dT%H:%M:%S.%fZ"


def count_posts(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Post)).scalar_one()


def create(client, headers, **body):
    body.setdefault("content", "Hello LinkedIn")
    return client.post("/api/posts", json=body, headers=headers)


def test_create_returns_201_with_the_contract_fields(client, user):
    _, headers = user
    response = create(client, headers, content="  Hello LinkedIn  ", imageUrl="https://example.com/a.png")
    assert response.status_code == 201
    post = response.json
    assert set(post) == {"id", "status", "content", "imageUrl", "scheduledAt", "publishedAt",
                         "errorMessage", "attemptCount", "qstashMessageId", "linkedinPostUrn",
                         "createdAt", "updatedAt"}
    assert post["status"] == "draft"
    assert post["content"] == "Hello LinkedIn"
    assert post["imageUrl"] == "https://example.com/a.png"
    assert post["scheduledAt"] is None and post["attemptCount"] == 0
    assert len(post["id"]) == 36 and post["id"].count("-") == 4
    datetime.strptime(post["createdAt"], ISO_Z)


def test_list_get_patch_delete(client, user):
    _, headers = user
    first = create(client, headers, content="one").json
    create(client, headers, content="two")

    listed = client.get("/api/posts", headers=headers).json["posts"]
    assert sorted(p["content"] for p in listed) == ["one", "two"]

    got = client.get(f"/api/posts/{first['id']}", headers=headers).json
    assert got["content"] == "one" and got["attempts"] == []

    patched = client.patch(f"/api/posts/{first['id']}", json={"content": "uno", "imageUrl": None}, headers=headers)
    assert patched.status_code == 200 and patched.json["content"] == "uno"
    assert patched.json["updatedAt"] >= first["updatedAt"]

    assert client.delete(f"/api/posts/{first['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/posts/{first['id']}", headers=headers).status_code == 404
    assert [p["content"] for p in client.get("/api/posts", headers=headers).json["posts"]] == ["two"]


def test_list_filters_by_status_and_refuses_unknown_ones(client, user):
    _, headers = user
    create(client, headers)
    assert len(client.get("/api/posts?status=draft", headers=headers).json["posts"]) == 1
    assert client.get("/api/posts?status=published", headers=headers).json["posts"] == []
    response = client.get("/api/posts?status=sent", headers=headers)
    assert response.status_code == 400 and "status must be one of" in response.json["error"]


@pytest.mark.parametrize("body, message", [
    # what is wrong                          the sentence that says so
    ({}, "content is required"),
    ({"content": ""}, "content is required"),
    ({"content": "   \n  "}, "content is required"),
    ({"content": 42}, "content must be a string"),
    ({"content": ["a"]}, "content must be a string"),
    ({"content": "x" * 3001}, "LinkedIn allows at most 3,000"),
    ({"content": "ok", "imageUrl": "ftp://example.com/a.png"}, "imageUrl must be an http"),
    ({"content": "ok", "imageUrl": "javascript:alert(1)"}, "imageUrl must be an http"),
    ({"content": "ok", "imageUrl": "https://"}, "imageUrl must be an http"),
    ({"content": "ok", "imageUrl": 7}, "imageUrl must be a string"),
    ({"content": "ok", "imageUrl": "https://e.com/" + "a" * 2048}, "longer than 2,048"),
    ({"content": "ok", "scheduledAt": "2030-01-01T00:00:00Z"}, "Unknown field 'scheduledAt'"),
    (["content"], "must be a JSON object"),
    ("just a string", "must be a JSON object"),
])
def test_bad_post_input_is_refused_with_a_sentence_and_nothing_stored(app, client, user, body, message):
    _, headers = user
    response = client.post("/api/posts", json=body, headers=headers)
    assert response.status_code == 400
    assert message in response.json["error"]
    assert count_posts(app) == 0


@pytest.mark.parametrize("data, content_type", [
    ("{not json", "application/json"),
    ("content=hello", "application/x-www-form-urlencoded"),
    ("", "application/json"),
])
def test_malformed_json_is_refused(app, client, user, data, content_type):
    _, headers = user
    response = client.post("/api/posts", data=data, content_type=content_type, headers=headers)
    assert response.status_code == 400
    assert "must be JSON" in response.json["error"]
    assert count_posts(app) == 0


def test_patch_validates_too(client, user):
    _, headers = user
    post = create(client, headers).json
    for body, message in [({}, "Nothing to change"), ({"content": ""}, "content is required"),
                          ({"status": "published"}, "Unknown field 'status'")]:
        response = client.patch(f"/api/posts/{post['id']}", json=body, headers=headers)
        assert response.status_code == 400 and message in response.json["error"]
    assert client.get(f"/api/posts/{post['id']}", headers=headers).json["content"] == "Hello LinkedIn"


def test_unknown_post_is_404_json(client, user):
    _, headers = user
    for method in ("GET", "PATCH", "DELETE"):
        response = client.open("/api/posts/does-not-exist", method=method, json={"content": "x"}, headers=headers)
        assert response.status_code == 404
        assert response.json == {"error": "There is no such post."}


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer pct_not-a-real-token"},
    {"Authorization": "Basic YWRhOnB3"},
    {"Authorization": "Bearer"},
])
def test_unauthenticated_api_calls_get_401_json_not_a_redirect(client, headers):
    response = client.get("/api/posts", headers=headers)
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json["error"]


def test_a_revoked_token_gets_401(app, client, user):
    user_id, headers = user
    assert client.get("/api/posts", headers=headers).status_code == 200
    from webapp.models import ApiToken, utcnow
    with app.app_context():
        for token in db.session.execute(select(ApiToken)).scalars():
            token.revoked_at = utcnow()
        db.session.commit()
    assert client.get("/api/posts", headers=headers).status_code == 401


def test_bearer_token_records_last_use_and_needs_no_csrf(app, client, user):
    _, headers = user
    assert create(client, headers).status_code == 201
    from webapp.models import ApiToken
    with app.app_context():
        assert db.session.execute(select(ApiToken.last_used_at)).scalar_one() is not None


def test_session_api_writes_need_the_csrf_header(app, client, auth):
    auth.register()
    assert client.post("/api/posts", json={"content": "x"}).status_code == 400
    assert count_posts(app) == 0
    assert auth.api("POST", "/api/posts", json={"content": "x"}).status_code == 201


def test_a_bad_bearer_header_is_not_rescued_by_a_session_cookie(app, client, auth):
    auth.register()
    response = client.get("/api/posts", headers=bearer("pct_wrong"))
    assert response.status_code == 401


def test_tokens_are_stored_as_hashes(app, user):
    from webapp.models import ApiToken
    _, headers = user
    plaintext = headers["Authorization"].split()[1]
    with app.app_context():
        stored = db.session.execute(select(ApiToken.token_hash)).scalar_one()
    assert plaintext not in stored and len(stored) == 64


def test_users_see_only_their_own_posts_in_lists(app, client, user, other_user):
    _, headers = user
    _, other_headers = other_user
    create(client, headers, content="mine")
    create(client, other_headers, content="theirs")
    assert [p["content"] for p in client.get("/api/posts", headers=headers).json["posts"]] == ["mine"]
