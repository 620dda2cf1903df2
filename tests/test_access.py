"""Isolation: every route that names a post answers 404 to another user and changes nothing."""

from datetime import timedelta

import pytest

from webapp.extensions import db
from webapp.models import Post, utcnow

#: (method, path, JSON body) for every route that takes a post id. Add new routes here.
POST_ROUTES = [
    ("GET", "/api/posts/{id}", None),
    ("PATCH", "/api/posts/{id}", {"content": "hijacked"}),
    ("DELETE", "/api/posts/{id}", None),
    ("POST", "/api/posts/{id}/schedule", {"scheduledAt": (utcnow() + timedelta(days=2)).isoformat()}),
    ("POST", "/api/posts/{id}/unschedule", None),
    ("POST", "/api/posts/{id}/publish-now", None),
]


def snapshot(app, post_id):
    with app.app_context():
        post = db.session.get(Post, post_id)
        return None if post is None else (post.status, post.content, post.schedule_version, post.scheduled_at)


@pytest.mark.parametrize("method, path, body", POST_ROUTES, ids=[f"{m} {p}" for m, p, _ in POST_ROUTES])
def test_another_users_post_is_not_found_and_unchanged(app, client, user, other_user, method, path, body):
    _, owner = user
    _, intruder = other_user
    post_id = client.post("/api/posts", json={"content": "mine"}, headers=owner).json["id"]
    soon = (utcnow() + timedelta(days=1)).isoformat()
    assert client.post(f"/api/posts/{post_id}/schedule", json={"scheduledAt": soon}, headers=owner).status_code == 200
    before = snapshot(app, post_id)

    response = client.open(path.format(id=post_id), method=method, json=body, headers=intruder)

    assert response.status_code == 404
    assert response.json == {"error": "There is no such post."}
    assert snapshot(app, post_id) == before
    # exactly as if it did not exist
    missing = client.open(path.format(id="00000000-0000-4000-8000-000000000000"), method=method,
                          json=body, headers=intruder)
    assert (missing.status_code, missing.json) == (response.status_code, response.json)
