"""The Punctual side of scripts/n8n-e2e.sh: with n8n (running the shipped workflow) and the fake
LinkedIn already up, run Punctual with the local dispatcher, schedule posts a few seconds ahead,
and check what reached LinkedIn; then send dry runs (Punctual's pipeline check) and image URLs the
workflow must refuse straight to the webhook. Exit 1 on any failed check. Environment (set by the
script): N8N_WEBHOOK_URL, N8N_WEBHOOK_AUTH_HEADER, N8N_WEBHOOK_SECRET, FAKE_LINKEDIN (base URL),
DATABASE_URL. n8n reaches image hosts through the fake, its HTTP proxy (see fake_linkedin.py).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
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
from webapp.dispatch import check as pipeline
from webapp.dispatch.webhook import WebhookClient
from webapp.extensions import db
from webapp.models import LinkedInConnection, Post, utcnow
from webapp.runtime import core

FAKE = os.environ["FAKE_LINKEDIN"]
TOKEN = os.environ.get("FAKE_LINKEDIN_TOKEN", "AQV-e2e-member-token-0123456789")
PERSON = "urn:li:person:E2eAda42"
POSTS = {
    "plain": ("Hello from Punctual — scheduled to the second.", None),
    "special": ("Little format: a\\b | {x} @ada [link](x) <tag> #hashtag *bold* _it_ ~strike~", None),
    # n8n fetches this through its HTTP proxy, the fake: a public name, and no DNS needed.
    "image": ("A post with an image.", "http://images.example.com/punctual-e2e.png"),
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
        check_dry_runs(user.id)
        check_image_refusals(user.id)
        check_punctual_pipeline_check(app, user.id)
    print(f"\n{'PASS' if not failures else 'FAIL'}: {len(failures)} failed check(s)")
    return 1 if failures else 0


def webhook(body: dict, *, dry_run: bool = False, secret: str | None = None,
            url: str | None = None) -> requests.Response:
    """One call to the webhook as Punctual makes it (JSON body, Idempotency-Key, the shared secret)."""
    headers = {os.environ["N8N_WEBHOOK_AUTH_HEADER"]: secret or os.environ["N8N_WEBHOOK_SECRET"]}
    if body.get("idempotencyKey"):
        headers["Idempotency-Key"] = body["idempotencyKey"]
    if dry_run:
        headers["X-Punctual-Dry-Run"] = "1"
    return requests.post(url or os.environ["N8N_WEBHOOK_URL"], json=body, headers=headers, timeout=30)


def dry_run_body(user_id: int, token: str) -> dict:
    """Punctual's dry run: a real post's member and token, no postId and no content."""
    return {"dryRun": True, "idempotencyKey": f"dry-run:{uuid.uuid4()}", "userId": user_id,
            "personUrn": PERSON, "accessToken": token}


def answer_of(response: requests.Response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {"text": response.text[:200]}


def check_dry_runs(user_id: int) -> None:
    print("dry runs (the pipeline check):", flush=True)
    before = requests.get(f"{FAKE}/_calls", timeout=5).json()
    good = dry_run_body(user_id, TOKEN)
    ok = webhook(good, dry_run=True)
    print(f"  good token    -> {ok.status_code} {ok.text}", flush=True)
    check(ok.status_code == 200 and answer_of(ok) == {
        "dryRun": True, "linkedin": "ok", "name": "Ada Lovelace", "personUrn": PERSON, "samePerson": True},
        "dry run, good token: 200 linkedin ok with the member's name")
    again = webhook(good, dry_run=True)
    check(again.status_code == 200 and answer_of(again).get("linkedin") == "ok"
          and "duplicate" not in answer_of(again),
          "the same dry-run key again is checked again: dry runs are never remembered as published")
    revoked = webhook(dry_run_body(user_id, "REVOKED-e2e-token"), dry_run=True)
    print(f"  revoked token -> {revoked.status_code} {revoked.text}", flush=True)
    said = answer_of(revoked)
    check(revoked.status_code == 200 and said.get("dryRun") is True and said.get("linkedin") == "token rejected"
          and said.get("linkedinStatus") == 401 and "Reconnect LinkedIn" in said.get("message", "")
          and "REVOKED-e2e-token" not in revoked.text,
          "dry run, revoked token: 200 token rejected with LinkedIn's 401, the token not echoed")
    missing = webhook({k: v for k, v in good.items() if k != "accessToken"}, dry_run=True)
    check(missing.status_code == 400 and "accessToken" in answer_of(missing).get("message", ""),
          f"dry run without accessToken: 400 with a sentence ({missing.status_code} {missing.text})")
    header_only = webhook({k: v for k, v in good.items() if k != "dryRun"}, dry_run=True)
    check(header_only.status_code == 200 and answer_of(header_only).get("dryRun") is True,
          "the X-Punctual-Dry-Run header alone makes it a dry run")
    wrong = webhook(good, dry_run=True, secret="wrong-secret")
    check(wrong.status_code == 403, f"dry run with a wrong secret: 403 from n8n ({wrong.status_code})")
    base = os.environ["N8N_WEBHOOK_URL"].rsplit("/webhook/", 1)[0]
    for url in (f"{base}/webhook/linkedin-post-typo", f"{base}/webhook-test/linkedin-post"):
        unknown = webhook(good, dry_run=True, url=url)
        check(unknown.status_code == 404 and "is not registered" in unknown.text,
              f"dry run to {url[len(base):]}: 404 {unknown.text[:90]!r}")
    after = requests.get(f"{FAKE}/_calls", timeout=5).json()
    check(after["posts"] == before["posts"] and after["uploads"] == before["uploads"],
          "dry runs created no post and uploaded nothing at LinkedIn")
    reads = after["userinfo"][len(before["userinfo"]):]
    check(reads == ["ok", "ok", "refused", "ok"],
          f"each understood dry run read /v2/userinfo once, and nothing else did ({reads})")


def check_punctual_pipeline_check(app, user_id: int) -> None:
    """Punctual's own pipeline check (dispatch/check.py, `flask check`) against the real n8n: it
    passes as configured; a wrong secret, an unknown path, the test URL and a revoked token fail
    at their own step with the sentence that fixes them; nothing reaches LinkedIn's posts."""
    print("Punctual's pipeline check:", flush=True)
    before = requests.get(f"{FAKE}/_calls", timeout=5).json()
    result = actions.check_pipeline(core(), user_id=user_id)
    for step in result.steps:
        print(f"  {step.verdict:<11} {step.title} {step.sentence}", flush=True)
    check(result.passed and [s.verdict for s in result.steps] == [pipeline.Verdict.PASSED] * 5
          and result.steps[-1].sentence == "LinkedIn knows the token as Ada Lovelace.",
          "the check passes against the real n8n, every step, naming the member")
    cli = app.test_cli_runner().invoke(args=["check", "--email", "e2e@example.com"])
    check(cli.exit_code == 0 and "All steps passed." in cli.output, f"flask check exits 0 ({cli.exit_code})")

    url, header = os.environ["N8N_WEBHOOK_URL"], os.environ["N8N_WEBHOOK_AUTH_HEADER"]
    base = url.rsplit("/webhook/", 1)[0]

    def failing(at: str, secret: str, expect: pipeline.Step, words: str) -> None:
        client = WebhookClient(at, auth_header=header, secret=secret, read_timeout=30)
        run = pipeline.run(client, pipeline.Target(url=at), user_id=user_id, person_urn=PERSON,
                           access_token=TOKEN, now=utcnow())
        failed = run.failed_step
        print(f"  {at[len(base):]:32} -> {failed.step if failed else None}: {failed.sentence if failed else ''}",
              flush=True)
        later = run.steps[list(pipeline.Step).index(expect) + 1:]
        check(failed is not None and failed.step is expect and words in failed.sentence
              and all(s.verdict is pipeline.Verdict.NOT_CHECKED for s in later),
              f"{expect} fails with its sentence, the later steps not checked ({at[len(base):]})")

    failing(url, "wrong-secret", pipeline.Step.AUTH, "n8n refused the secret (HTTP 403")
    failing(f"{base}/webhook/linkedin-post-typo", os.environ["N8N_WEBHOOK_SECRET"], pipeline.Step.WORKFLOW,
            "activate (publish) the workflow")
    failing(f"{base}/webhook-test/linkedin-post", os.environ["N8N_WEBHOOK_SECRET"], pipeline.Step.WORKFLOW,
            "N8N_WEBHOOK_URL is n8n's test URL")
    revoked = create_user("revoked@example.com", "correct horse battery", "Europe/Berlin")
    connection = LinkedInConnection(user_id=revoked.id, person_urn=PERSON, expires_at=utcnow() + timedelta(days=5))
    connection.access_token = "REVOKED-e2e-token"
    db.session.add(connection)
    db.session.commit()
    expired = actions.check_pipeline(core(), user_id=revoked.id)
    failed = expired.failed_step
    check(failed is not None and failed.step is pipeline.Step.LINKEDIN and "(HTTP 401)" in failed.sentence,
          f"a revoked LinkedIn token fails the last step with LinkedIn's 401 ({failed.sentence if failed else ''})")
    after = requests.get(f"{FAKE}/_calls", timeout=5).json()
    check(after["posts"] == before["posts"] and after["uploads"] == before["uploads"],
          "the pipeline checks created no post and uploaded nothing at LinkedIn")


def check_image_refusals(user_id: int) -> None:
    print("image URLs:", flush=True)
    before = requests.get(f"{FAKE}/_calls", timeout=5).json()
    base = {"userId": user_id, "accessToken": TOKEN, "personUrn": PERSON, "scheduledAt": "2026-11-28T12:00:00Z"}
    cases = [
        ("http://169.254.169.254/latest/meta-data/", 400, "The image URL points to a link-local address"),
        ("http://0x7f000001:5678/rest/settings", 400, "The image URL points to a loopback address"),
        ("http://[::ffff:10.0.0.1]/a.png", 400, "The image URL points to a private address (IPv4-mapped)"),
        ("http://localhost:5678/rest/settings", 400, "The image URL points to a local host name"),
        ("http://images.example.com/missing.png", 400, "The image could not be downloaded (HTTP 404)"),
        ("http://images.example.com/page.html", 400, "The image could not be downloaded (not an image)"),
        ("http://images.example.com/redirect.png", 400, "The image could not be downloaded (HTTP 302: it redirects"),
        ("http://images.example.com/drop.png", 503, "The image could not be downloaded (no connection)"),
        ("http://images.example.com/slow.png", 503, "The image could not be downloaded (timeout)"),
    ]
    for n, (url, status, words) in enumerate(cases):
        key = f"e2e-image-{uuid.uuid4()}:1"
        response = webhook({**base, "postId": key, "idempotencyKey": key, "imageUrl": url,
                            "content": f"An image that must not be posted, {n}."})
        message = answer_of(response).get("message", "")
        print(f"  {url:45} -> {response.status_code} {message}", flush=True)
        check(response.status_code == status and message.startswith(words) and "nothing was posted" in message
              and (status != 503 or response.headers.get("Retry-After") == "30"),
              f"{url}: {status} {words!r}")
    after = requests.get(f"{FAKE}/_calls", timeout=5).json()
    fetched = after["proxied"][len(before["proxied"]):]
    public = [url for url, _, _ in cases if url.startswith("http://images.example.com/")]
    check(fetched == public, f"n8n downloaded only the public URLs, none of the internal ones, and did not "
                             f"follow the redirect to 169.254.169.254 ({len(fetched)} downloads)")
    check(after["posts"] == before["posts"], "no post was created for any of them")


if __name__ == "__main__":
    sys.exit(main())
