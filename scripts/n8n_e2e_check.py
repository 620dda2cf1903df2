"""The Punctual side of scripts/n8n-e2e.sh: with n8n (running the shipped workflow) and the fake
LinkedIn already up, run Punctual with the local dispatcher, schedule posts a few seconds ahead,
and check what reached LinkedIn. Exit 1 on any failed check. Environment (set by the script):
N8N_WEBHOOK_URL, N8N_WEBHOOK_AUTH_HEADER, N8N_WEBHOOK_SECRET, FAKE_LINKEDIN (base URL), DATABASE_URL.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import (
    create_app,
    timeutil,
)
from webapp.accounts.users import create_user
from webapp.dispatch import actions
from webapp.extensions import db
from webapp.models import LinkedInConnection, Post, utcnow
from webapp.runtime import core

FAKE = os.environ["FAKE_LINKEDIN"]
TOKEN = os.environ.get("FAKE_LINKEDIN_TOKEN", "AQV-e2e-member-token-0123456789")
PERSON = "urn:li:person:E2eAda42"
POSTS = {
    "plain": ("Hello from Punctual — scheduled to the second.", None),
    "special": ("Little format: a\\b | {x} @ada [link](x) <tag> #hashtag *bold* _it_ ~strike~", None),
    "image": ("A post with an image.", f"{FAKE}/image.png"),
    "again-1": ("The same words, twice.", None),
    "again-2": ("The same words, twice.", None),
}
failures: list[str] = []


def check(ok: bool, what: str) -> None:
    print(f"  {'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if not ok:
        failures.append(what)


def little(text: str) -> str:
    return "".join("\\" + c if c in "\\|{}@[]()<>#*_~" else c for c in text)


def main() -> int:
    os.environ.setdefault("LOCAL_DISPATCHER", "thread")
    app = create_app()
    with app.app_context():
        user = create_user("e2e@example.com", "correct horse battery", "Europe/Berlin")
        connection = LinkedInConnection(user_id=user.id, person_urn=PERSON, expires_at=utcnow() + timedelta(days=59))
        connection.access_token = TOKEN
        db.session.add(connection)
        db.session.commit()
        start = utcnow() + timedelta(seconds=4)
        ids = {}
        for i, (name, (content, image)) in enumerate(POSTS.items()):
            post_id = actions.create_post(core(), user_id=user.id, fields={"content": content, "image_url": image})
            when = timeutil.ResolvedTime(start + timedelta(seconds=i), None)
            actions.schedule_post(core(), user_id=user.id, post_id=post_id, when=when, zone_name="Europe/Berlin")
            ids[name] = post_id
        print(f"scheduled {len(ids)} posts for {start:%H:%M:%S}..+{len(ids) - 1}s UTC; waiting", flush=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            db.session.expire_all()
            rows = {name: db.session.get(Post, post_id) for name, post_id in ids.items()}
            if all(r.status in ("published", "failed") for r in rows.values()):
                break
            time.sleep(0.5)
        db.session.expire_all()
        rows = {name: db.session.get(Post, post_id) for name, post_id in ids.items()}
        for name, row in rows.items():
            late = (row.published_at - row.scheduled_at).total_seconds() if row.published_at else None
            print(f"  {name:8} {row.status:9} urn={row.linkedin_post_urn} "
                  f"{f'late={late:.3f}s' if late is not None else ''} {row.error_message or ''}", flush=True)
        calls = requests.get(f"{FAKE}/_calls", timeout=5).json()
        created = calls["posts"]
        print(f"fake LinkedIn: {len(created)} posts created, {len(calls['uploads'])} image uploads, "
              f"{len(calls['refusals'])} refusals", flush=True)

        print("checks:")
        for name in ("plain", "special", "image", "again-1"):
            row = rows[name]
            expected = little(POSTS[name][0])
            made = [p for p in created if p["commentary"] == expected]
            check(len(made) == 1, f"{name}: LinkedIn received it exactly once")
            if made:
                check(made[0]["author"] == PERSON, f"{name}: author is {PERSON}")
                check(row.status == "published" and row.linkedin_post_urn == made[0]["urn"],
                      f"{name}: Punctual recorded published with LinkedIn's URN {made[0]['urn']}")
                check(not row.published_at or row.published_at >= row.scheduled_at, f"{name}: not sent early")
        image_post = [p for p in created if p["commentary"] == little(POSTS["image"][0])]
        media = (image_post[0]["content"] or {}).get("media", {}) if image_post else {}
        check(media.get("id", "").startswith("urn:li:image:")
              and len(calls["uploads"]) == 1, "image: uploaded to LinkedIn and attached to the post")
        check(rows["again-2"].status == "failed" and "DUPLICATE_POST" in (rows["again-2"].error_message or ""),
              "the same text twice: LinkedIn's 422 DUPLICATE_POST reached Punctual as a failure, not retried")
        check(rows["again-2"].attempt_count == 1, "the duplicate was tried once")

        # A repeat of an idempotency key (as a crash-recovery resend would carry) is dropped by n8n.
        plain = rows["plain"]
        payload = {"postId": plain.id, "userId": user.id, "accessToken": TOKEN, "personUrn": PERSON,
                   "content": plain.content, "imageUrl": None, "scheduledAt": plain.scheduled_at.isoformat(),
                   "idempotencyKey": f"{plain.id}:{plain.schedule_version}"}
        headers = {os.environ["N8N_WEBHOOK_AUTH_HEADER"]: os.environ["N8N_WEBHOOK_SECRET"],
                   "Idempotency-Key": payload["idempotencyKey"]}
        repeat = requests.post(os.environ["N8N_WEBHOOK_URL"], json=payload, headers=headers, timeout=30)
        print(f"repeat of {payload['idempotencyKey']}: {repeat.status_code} {repeat.text}", flush=True)
        after = requests.get(f"{FAKE}/_calls", timeout=5).json()["posts"]
        check(repeat.status_code == 200 and repeat.json().get("linkedinPostUrn") == plain.linkedin_post_urn,
              "a repeated idempotency key is answered with the first post's URN")
        check(len(after) == len(created), "…and nothing new reached LinkedIn")
        wrong = requests.post(os.environ["N8N_WEBHOOK_URL"], json=payload,
                              headers={os.environ["N8N_WEBHOOK_AUTH_HEADER"]: "wrong"}, timeout=30)
        check(wrong.status_code == 403, f"a wrong shared secret is refused by n8n ({wrong.status_code})")
    print(f"\n{'PASS' if not failures else 'FAIL'}: {len(failures)} failed check(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
