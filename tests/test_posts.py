"""The scheduling UI through HTTP: the dashboard, compose / edit, the post page, the row actions
(htmx fragments, and plain forms without JavaScript), the LinkedIn warnings, CSRF."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from html import escape
from zoneinfo import ZoneInfo

import pytest

from webapp.dispatch.states import Action, refusal
from webapp.models import utcnow
from webapp.posts.dashboard import AT_RISK_SHOWN, SECTION

from .conftest import LINKEDIN_TOKEN, configured, connect_linkedin, core_of, csrf_from, post_row
from .factories import FAILED_MESSAGE, make_post, sign_in
from .test_post_form import transition

UTC = timezone.utc
HX = {"HX-Request": "true"}
N8N = {"N8N_WEBHOOK_URL": "https://n8n.test/webhook/linkedin-post"}
#: Run a test with n8n configured (not the demo inbox), where LinkedIn is needed.
with_n8n = configured(N8N, "n8n")


@pytest.fixture
def ada(app, client):
    """Ada, logged in, in Europe/Berlin: her user id."""
    return sign_in(app, client, zone="Europe/Berlin")


def token(client) -> str:
    return csrf_from(client.get("/posts/new").text)


def post_form(client, path, data=None, *, htmx=False, headers=None):
    data = {"csrf_token": token(client), **(data or {})}
    return client.post(path, data=data, headers={**(HX if htmx else {}), **(headers or {})})


def local_inputs(instant: datetime, zone="Europe/Berlin") -> dict:
    at = instant.astimezone(ZoneInfo(zone))
    return {"date": at.date().isoformat(), "time": at.strftime("%H:%M:%S")}


def flashes(client) -> str:
    return " ".join(re.findall(r'class="flash flash-\w+"[^>]*>([^<]*)<', client.get("/").text))


# ---------------------------------------------------------------- the dashboard


def test_a_new_user_is_told_what_to_do_first(client, ada):
    page = client.get("/").text
    assert "No posts yet" in page and "Write your first post" in page
    assert "built-in inbox" in page  # demo mode: no LinkedIn needed
    assert "Connect LinkedIn" not in page


@with_n8n
def test_without_the_demo_inbox_the_first_step_is_connecting_linkedin(client, ada):
    page = client.get("/").text
    assert "Connect LinkedIn</a> in Settings" in page and "built-in inbox" not in page


def test_the_dashboard_groups_posts_with_times_in_the_users_zone(app, client, ada):
    at = (utcnow() + timedelta(hours=2, minutes=5)).replace(second=0, microsecond=0)
    make_post(app, ada, "scheduled", content="Upcoming one", at=at)
    make_post(app, ada, "publishing", content="Sending one")
    make_post(app, ada, "failed", content="Failed one")
    make_post(app, ada, "published", content="Published one", urn="urn:li:share:99")
    make_post(app, ada, "draft", content="Draft one")
    page = client.get("/").text

    headings = re.findall(r'<h2 id="heading-(\w+)"', page)
    assert headings == ["week", "upcoming", "in_progress", "failed", "published", "drafts"]
    sections = {m.group(1): m.group(0)
                for m in re.finditer(r'<section class="section section-(\w+)".*?</section>', page, re.S)}
    assert "Upcoming one" in sections["upcoming"] and "Sending one" in sections["in_progress"]
    assert "Failed one" in sections["failed"] and "Draft one" in sections["drafts"]
    local = at.astimezone(ZoneInfo("Europe/Berlin"))
    # the zone is named once, at the top of the page, not after every time
    assert f">{local:%a} {local.day} {local:%b %Y, %H:%M}</time>" in sections["upcoming"]
    assert "(Europe/Berlin)" not in sections["upcoming"]
    assert re.search(r'class="zone-note">Times in <strong>Europe/Berlin</strong> '
                     r'<span class="offset">\(UTC\+0[12]:00\)', page)
    assert re.search(r"in 2 h [45] min", sections["upcoming"])
    assert "Rejected by n8n." in sections["failed"] and escape(FAILED_MESSAGE) in sections["failed"]
    assert ">Retry</button>" in sections["failed"]
    assert 'href="https://www.linkedin.com/feed/update/urn:li:share:99/"' in sections["published"]
    assert "The next 7 days" in page and "Upcoming one" in page.split('id="section-upcoming"')[0]  # the week


#: One instant, as each user sees it: (zone, text).
ZONES = [
    ("Europe/Berlin", "Tue 1 Dec 2026, 10:30:05 (Europe/Berlin)"),
    ("America/New_York", "Tue 1 Dec 2026, 04:30:05 (America/New_York)"),
    ("Asia/Kolkata", "Tue 1 Dec 2026, 15:00:05 (Asia/Kolkata)"),
    ("Pacific/Chatham", "Tue 1 Dec 2026, 23:15:05 (Pacific/Chatham)"),  # +13:45 in its summer
    ("UTC", "Tue 1 Dec 2026, 09:30:05 (UTC)"),
]


def test_the_same_instant_is_shown_in_each_users_own_zone(app, client):
    from webapp.extensions import db
    from webapp.models import Post

    instant = datetime(2026, 12, 1, 9, 30, 5, tzinfo=UTC)
    for zone, expected in ZONES:
        post_id = make_post(app, sign_in(app, client, email=f"{zone.replace('/', '.')}@example.com", zone=zone),
                            "published")
        with app.app_context():
            db.session.get(Post, post_id).published_at = instant
            db.session.commit()
        time_alone, _ = expected.rsplit(" (", 1)
        page = client.get("/").text
        assert f">{time_alone}</time>" in page and f"Times in <strong>{zone}</strong>" in page, zone
        detail = client.get(f"/posts/{post_id}").text  # the post's page: named once there too
        assert f"<dd>{time_alone}</dd>" in detail and f"Times in <strong>{zone}</strong>" in detail, zone


def test_the_post_page_shows_the_attempt_history(app, client, ada):
    post_id = make_post(app, ada, "failed", content="With history", image_url="https://example.com/i.png")
    page = client.get(f"/posts/{post_id}").text
    assert "With history" in page and "https://example.com/i.png" in page
    assert re.search(r'data-label="Outcome"><span class="outcome outcome-failed">failed', page)
    assert 'data-label="HTTP">400<' in page and 'data-label="Duration">120 ms<' in page
    assert 'data-label="Trigger">local<' in page and "the workflow said no" in page
    assert f"{post_id}:1" in page  # the idempotency key n8n got
    assert "No attempts yet" in client.get(f"/posts/{make_post(app, ada)}").text


# ---------------------------------------------------------------- compose and edit


def test_save_a_draft_without_javascript(app, client, ada):
    response = post_form(client, "/posts/new", {"content": "  A draft  ", "image_url": "", "intent": "save",
                                                "date": "", "time": ""})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Draft saved." in flashes(client)
    (post,) = client.get("/api/posts").json["posts"]
    assert (post["status"], post["content"], post["imageUrl"]) == ("draft", "A draft", None)


def test_schedule_from_the_form_reads_the_time_in_the_users_zone(app, client, ada):
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    response = post_form(client, "/posts/new", {"content": "Scheduled", "image_url": "https://example.com/a.png",
                                                "intent": "schedule", **local_inputs(at)}, htmx=True)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"
    (post,) = client.get("/api/posts").json["posts"]
    assert post["status"] == "scheduled" and post["scheduledAt"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert "(Europe/Berlin)" in flashes(client)


def test_publish_now_from_the_form(app, client, ada):
    before = utcnow()
    post_form(client, "/posts/new", {"content": "Right now", "intent": "publish"})
    (post,) = client.get("/api/posts").json["posts"]
    row = post_row(app, post["id"])
    assert row.status == "scheduled" and before <= row.scheduled_at <= utcnow()


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
def test_mistakes_come_back_next_to_their_fields_with_what_was_typed(app, client, ada, htmx):
    typed = {"content": "Keep <this> text", "image_url": "ftp://example.com/x.png", "intent": "schedule",
             **local_inputs(utcnow() - timedelta(hours=1))}
    response = post_form(client, "/posts/new", typed, htmx=htmx)
    assert response.status_code == 400
    body = response.text
    assert body.lstrip().startswith('<form id="post-form"') == htmx and ("<html" in body) != htmx
    assert "Keep &lt;this&gt; text</textarea>" in body
    assert 'value="ftp://example.com/x.png"' in body and f'value="{typed["date"]}"' in body
    assert re.search(r'id="image-error" role="alert">The image URL must be an http:// or https:// address.', body)
    assert re.search(r'id="when-error" role="alert">[^<]*\(Europe/Berlin\) is in the past', body)
    assert "HX-Request" in response.headers.get("Vary", "")
    assert client.get("/api/posts").json["posts"] == []  # nothing written


def test_a_time_in_the_past_is_refused_next_to_the_time_and_nothing_is_written(app, client, ada):
    typed = {"content": "Too late", "intent": "schedule", **local_inputs(utcnow() - timedelta(hours=1))}
    response = post_form(client, "/posts/new", typed, htmx=True)
    assert response.status_code == 400 and "Too late</textarea>" in response.text
    assert re.search(r'id="when-error" role="alert">[^<]*\(Europe/Berlin\) is in the past', response.text)
    assert client.get("/api/posts").json["posts"] == []


def test_text_that_linkedin_would_refuse_is_refused(client, ada):
    for content, message in [("", "Write the text of the post."),
                             ("x" * 3001, "The text is 3,001 characters; LinkedIn allows at most 3,000.")]:
        response = post_form(client, "/posts/new", {"content": content, "intent": "save"}, htmx=True)
        assert response.status_code == 400 and message in response.text
    assert client.get("/api/posts").json["posts"] == []


def test_an_unknown_button_is_refused(client, ada):
    response = post_form(client, "/posts/new", {"content": "x", "intent": "launch"})
    assert response.status_code == 400 and "Choose Save draft, Schedule, Add to queue or Publish now." in response.text
    assert client.get("/api/posts").json["posts"] == []


def test_a_dst_gap_is_refused_and_an_overlap_is_resolved_with_a_note(app, client, ada):
    gap = transition("Europe/Berlin", gap=True, after=utcnow() + timedelta(days=1))
    overlap = transition("Europe/Berlin", gap=False, after=utcnow() + timedelta(days=1))
    if max(gap, overlap) > (utcnow() + timedelta(days=360)).replace(tzinfo=None):
        pytest.skip("the next DST change is more than a year ahead")  # never with Berlin's rules
    refused = post_form(client, "/posts/new", {"content": "Gap", "intent": "schedule", "date": gap.date().isoformat(),
                                               "time": gap.strftime("%H:%M")}, htmx=True)
    assert refused.status_code == 400 and "does not exist in Europe/Berlin" in refused.text
    post_form(client, "/posts/new", {"content": "Overlap", "intent": "schedule",
                                     "date": overlap.date().isoformat(), "time": overlap.strftime("%H:%M")})
    assert "happens twice in Europe/Berlin" in flashes(client)
    (post,) = client.get("/api/posts").json["posts"]
    first = overlap.replace(tzinfo=ZoneInfo("Europe/Berlin"), fold=0).astimezone(UTC)
    assert post["scheduledAt"] == first.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def test_edit_keeps_the_schedule_unless_asked_to_reschedule(app, client, ada):
    at = (utcnow() + timedelta(days=1)).replace(microsecond=0)
    post_id = make_post(app, ada, "scheduled", content="Before", at=at)
    page = client.get(f"/posts/{post_id}/edit").text
    assert "Before</textarea>" in page and local_inputs(at)["time"] in page and "Save changes" in page
    post_form(client, f"/posts/{post_id}/edit",
              {"content": "After", "intent": "save", **local_inputs(at + timedelta(hours=1))})
    row = post_row(app, post_id)
    assert (row.content, row.status, row.scheduled_at, row.schedule_version) == ("After", "scheduled", at, 1)
    post_form(client, f"/posts/{post_id}/edit", {"content": "After", "intent": "schedule",
                                                 **local_inputs(at + timedelta(hours=1))})
    row = post_row(app, post_id)
    assert (row.scheduled_at, row.schedule_version) == (at + timedelta(hours=1), 2)


def test_a_post_that_is_being_sent_or_published_cannot_be_edited(app, client, ada):
    published = make_post(app, ada, "published")
    response = client.get(f"/posts/{published}/edit")
    assert response.status_code == 302 and response.headers["Location"] == f"/posts/{published}"
    sending = make_post(app, ada, "publishing", content="Sending")
    response = post_form(client, f"/posts/{sending}/edit", {"content": "Changed", "intent": "save"}, htmx=True)
    assert response.status_code == 409 and "This post is being sent right now, so it cannot be edited." in response.text
    assert post_row(app, sending).content == "Sending"


@with_n8n
def test_when_scheduling_is_refused_after_saving_a_new_post_the_text_is_kept_as_a_draft(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(hours=12))
    response = post_form(client, "/posts/new", {"content": "Not lost", "intent": "schedule",
                                                **local_inputs(utcnow() + timedelta(days=1))}, htmx=True)
    assert response.status_code == 409
    assert re.search(r'id="when-error" role="alert">Your LinkedIn token expires on [^<]*, before this',
                     response.text)
    assert "Your text is saved; the post was not scheduled." in response.text
    (post,) = client.get("/api/posts").json["posts"]
    assert post["status"] == "draft" and f'action="/posts/{post["id"]}/edit"' in response.text


# ---------------------------------------------------------------- warnings


@with_n8n
def test_scheduling_warns_when_linkedin_could_not_publish_it_then(app, client, ada):
    post_form(client, "/posts/new", {"content": "No LinkedIn", "intent": "schedule",
                                     **local_inputs(utcnow() + timedelta(days=1))})
    assert "LinkedIn is not connected: this post will fail" in flashes(client)
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(days=2))
    post_form(client, "/posts/new", {"content": "Before expiry", "intent": "schedule",
                                     **local_inputs(utcnow() + timedelta(days=1))})
    assert "reconnect" not in flashes(client)


@with_n8n
def test_scheduling_after_the_token_expires_is_refused_next_to_the_time(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(days=2))
    response = post_form(client, "/posts/new", {"content": "After expiry", "intent": "schedule",
                                                **local_inputs(utcnow() + timedelta(days=3))})
    assert response.status_code == 409
    assert "Your LinkedIn token expires on" in response.text and "Reconnect LinkedIn in Settings" in response.text
    assert "After expiry" in response.text  # what the user typed is kept (saved as a draft)
    post = client.get("/").text
    assert "After expiry" in section_html(post, "drafts")


@with_n8n
def test_the_dashboard_warns_a_week_before_the_token_expires_and_names_the_posts_at_risk(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(days=3))
    make_post(app, ada, "scheduled", content="Safe, before expiry", at=utcnow() + timedelta(days=1))
    make_post(app, ada, "scheduled", content="Lost, after expiry", at=utcnow() + timedelta(days=5))
    page = client.get("/").text
    warning = re.search(r'<section class="warning warning-expires_before".*?</section>', page, re.S).group(0)
    assert "Your LinkedIn token expires on" in warning and "Lost, after expiry" in warning
    assert "Safe, before expiry" not in warning
    assert page.count('class="post-warning"') == 1  # the affected row says so too


@with_n8n
def test_an_expired_token_and_a_missing_connection_are_warned_about(app, client, ada):
    make_post(app, ada, "scheduled", content="Will fail")
    assert 'warning-not_connected' in client.get("/").text
    connect_linkedin(app, ada, expires_at=utcnow() - timedelta(days=1))
    page = client.get("/").text
    assert "warning-expired" in page and "Your LinkedIn token expired on" in page


def test_in_demo_mode_there_are_no_linkedin_warnings(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() - timedelta(days=1))
    make_post(app, ada, "scheduled")
    page = client.get("/").text
    assert 'class="warning' not in page and "post-warning" not in page


def test_the_linkedin_token_is_never_rendered(app, client, ada):
    connect_linkedin(app, ada, expires_at=utcnow() + timedelta(days=2))
    post_id = make_post(app, ada, "failed", message=f"n8n echoed {LINKEDIN_TOKEN[:6]}…")
    for path in ("/", f"/posts/{post_id}", "/posts/new", f"/posts/{post_id}/edit", f"/posts/{post_id}/row"):
        assert LINKEDIN_TOKEN not in client.get(path).text, path


# ---------------------------------------------------------------- row actions


def act(client, post_id, action, data=None, **kwargs):
    return post_form(client, f"/posts/{post_id}/{action}", data, **kwargs)


def test_unschedule_answers_the_row_as_a_draft_and_tells_the_lists(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    response = act(client, post_id, "unschedule", htmx=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "posts-changed"
    assert response.text.lstrip().startswith(f'<article class="post post-draft" id="post-{post_id}"')
    assert 'hx-swap-oob="innerHTML">Unscheduled: the post is a draft again' in response.text
    row = post_row(app, post_id)
    assert (row.status, row.schedule_version) == ("draft", 2)


def test_without_javascript_an_action_redirects_to_the_dashboard_with_a_message(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    response = act(client, post_id, "unschedule")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Unscheduled" in flashes(client) and post_row(app, post_id).status == "draft"


def test_reschedule_inline(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    form = client.get(f"/posts/{post_id}/schedule", headers=HX).text
    assert f'hx-post="/posts/{post_id}/schedule"' in form and 'type="time" step="1"' in form
    past = local_inputs(utcnow() - timedelta(minutes=5))
    refused = act(client, post_id, "schedule", past, htmx=True)
    assert refused.status_code == 400 and "is in the past" in refused.text
    assert f'value="{past["time"]}"' in refused.text and "HX-Trigger" not in refused.headers
    at = (utcnow() + timedelta(days=2)).replace(microsecond=0)
    response = act(client, post_id, "schedule", local_inputs(at), htmx=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "posts-changed"
    row = post_row(app, post_id)
    assert (row.status, row.scheduled_at, row.schedule_version) == ("scheduled", at, 2)


def test_publish_now_asks_first_then_sends_at_once(app, client, ada):
    post_id = make_post(app, ada, "scheduled")
    confirm = client.get(f"/posts/{post_id}/publish-now", headers=HX).text
    assert "Send this post to LinkedIn right now?" in confirm and "that time will be dropped" in confirm
    before = utcnow()
    assert act(client, post_id, "publish-now", htmx=True).status_code == 200
    row = post_row(app, post_id)
    assert row.status == "scheduled" and before <= row.scheduled_at <= utcnow()


def test_retry_is_only_for_failed_posts_and_asks_first_when_it_may_be_published(app, client, ada):
    failed = make_post(app, ada, "failed")
    assert act(client, failed, "retry", htmx=True).status_code == 200
    assert post_row(app, failed).status == "scheduled"
    draft = make_post(app, ada, "draft")
    refused = act(client, draft, "retry", htmx=True)
    assert refused.status_code == 409 and "This post is a draft, so it cannot be retried." in refused.text
    assert post_row(app, draft).status == "draft"
    unconfirmed = make_post(app, ada, "failed", kind="unconfirmed", message="n8n did not confirm the post.")
    dashboard = client.get("/").text
    # an unconfirmed post's row asks to look at LinkedIn first: its two ways out replace Retry
    assert f'hx-get="/posts/{unconfirmed}/resend"' in dashboard and f'/posts/{unconfirmed}/retry"' not in dashboard
    assert "it may already be on LinkedIn" in client.get(f"/posts/{unconfirmed}/retry", headers=HX).text


def test_duplicate_makes_a_new_draft_and_leaves_the_original(app, client, ada):
    post_id = make_post(app, ada, "published", content="Once more", image_url="https://example.com/i.png")
    response = act(client, post_id, "duplicate", htmx=True)
    assert response.headers["HX-Trigger"] == "posts-changed" and "Copied into a new draft" in response.text
    posts = client.get("/api/posts").json["posts"]
    copy = next(p for p in posts if p["id"] != post_id)
    assert (copy["status"], copy["content"], copy["imageUrl"]) == ("draft", "Once more", "https://example.com/i.png")
    assert post_row(app, post_id).status == "published"


class RecordingAlarm:
    name = "recording"

    def __init__(self):
        self.calls = []

    def scheduled(self, change, *, immediate=False):
        from webapp.dispatch.alarms import AlarmResult
        self.calls.append(("scheduled", change.version))
        return AlarmResult()

    def unscheduled(self, change):
        self.calls.append(("unscheduled", change.version))


def test_delete_asks_first_and_deletes_a_scheduled_post_in_one_step(app, client, ada, monkeypatch):
    post_id = make_post(app, ada, "scheduled")
    confirm = client.get(f"/posts/{post_id}/delete", headers=HX).text
    assert "deleting it cancels that, so it is not sent" in confirm
    alarm = RecordingAlarm()
    monkeypatch.setattr(core_of(app), "alarm", alarm)
    response = act(client, post_id, "delete", htmx=True)
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "posts-changed"
    assert re.sub(r"<div id=\"announcer\".*?</div>", "", response.text, flags=re.S).strip() == ""  # the row goes
    assert alarm.calls == [("unscheduled", 1)]  # one guarded delete; then its alarm is cancelled
    assert post_row(app, post_id) is None


def test_a_published_post_can_be_deleted_from_the_history(app, client, ada):
    post_id = make_post(app, ada, "published", urn="urn:li:share:7")
    confirm = client.get(f"/posts/{post_id}/delete", headers=HX).text
    assert "LinkedIn keeps the published post" in confirm
    assert act(client, post_id, "delete", htmx=True).status_code == 200
    assert post_row(app, post_id) is None


def test_deleting_from_the_post_page_goes_back_to_the_dashboard(app, client, ada):
    post_id = make_post(app, ada, "draft")
    response = act(client, post_id, "delete", htmx=True,
                   headers={"HX-Current-URL": f"http://localhost/posts/{post_id}"})
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"
    assert "Post deleted." in flashes(client)


#: Every state-changing row action, with a valid body.
ACTIONS = [("unschedule", None), ("publish-now", None), ("retry", None), ("delete", None),
           ("schedule", "future")]


def test_a_sent_post_refuses_every_contradicting_action_with_409(app, client, ada):
    for status, action, data in [(status, *a) for status in ("publishing", "published") for a in ACTIONS]:
        if (status, action) == ("published", "delete"):
            continue  # deleting a published post from the history is allowed
        post_id = make_post(app, ada, status)
        before = post_row(app, post_id)
        body = local_inputs(utcnow() + timedelta(days=1)) if data == "future" else None
        response = act(client, post_id, action, body, htmx=True)
        sentence = refusal(status, Action(action.replace("-", "_")))
        assert response.status_code == 409 and sentence in response.text, (status, action)
        after = post_row(app, post_id)
        assert (after.status, after.schedule_version, after.scheduled_at) == \
            (before.status, before.schedule_version, before.scheduled_at), (status, action)


def test_a_sent_post_offers_nothing_that_would_contradict_it(app, client, ada):
    for status in ("publishing", "published"):
        post_id = make_post(app, ada, status)
        row = client.get(f"/posts/{post_id}/row", headers=HX).text
        for action in ("unschedule", "publish-now", "retry", "schedule", "edit"):
            assert f"/posts/{post_id}/{action}" not in row, (status, action)
        assert f"/posts/{post_id}/duplicate" in row
        assert (f"/posts/{post_id}/delete" in row) == (status == "published")
        confirm = client.get(f"/posts/{post_id}/schedule", headers=HX)
        assert confirm.status_code == 409 and f"/posts/{post_id}/schedule" not in confirm.text


# ---------------------------------------------------------------- CSRF


def post_routes(post_id: str) -> list[str]:
    return ["/posts/new", f"/posts/{post_id}/edit", f"/posts/{post_id}/schedule", f"/posts/{post_id}/unschedule",
            f"/posts/{post_id}/publish-now", f"/posts/{post_id}/retry", f"/posts/{post_id}/duplicate",
            f"/posts/{post_id}/delete"]


def test_every_form_needs_the_csrf_token(app, client, ada):
    post_id = make_post(app, ada, "failed")
    data = {"content": "forged", "intent": "schedule", **local_inputs(utcnow() + timedelta(days=1))}
    for path in post_routes(post_id):
        for headers in ({}, HX):
            response = client.post(path, data=data, headers=headers)
            assert response.status_code == 400 and "security token" in response.text, path
            # htmx swaps nothing (a form keeps what was typed) and the live region says why
            assert response.headers.get("HX-Reswap") == ("none" if headers else None), path
    assert [(p["id"], p["status"], p["content"]) for p in client.get("/api/posts").json["posts"]] == \
        [(post_id, "failed", "Hello LinkedIn")]


def test_every_form_on_every_page_carries_the_csrf_token(app, client, ada):
    ids = [make_post(app, ada, s) for s in ("draft", "scheduled", "publishing", "published", "failed")]
    pages = ["/", "/posts/new", *[f"/posts/{i}" for i in ids], f"/posts/{ids[0]}/edit"]
    pages += [f"/posts/{ids[0]}/{mode}" for mode in ("schedule", "publish-now", "delete")]
    pages += [f"/posts/{ids[4]}/retry"]
    forms = 0
    for path in pages:
        for form in re.findall(r"<form[^>]*>.*?</form>", client.get(path).text, re.S):
            if 'method="post"' in form:
                forms += 1
                assert re.search(r'name="csrf_token" (type="hidden" )?value="[^"]+"', form), (path, form[:120])
    assert forms > 20


def test_an_overdue_post_says_it_is_waiting_for_a_dispatcher(app, client, ada):
    post_id = make_post(app, ada, "scheduled", at=utcnow() - timedelta(minutes=3))
    row = client.get(f"/posts/{post_id}/row", headers=HX).text
    assert "Its time has passed and it is not sent yet" in row and 'href="/healthz"' in row
    assert "after that it fails as missed" in row
    assert "Its time has passed" not in client.get(f"/posts/{make_post(app, ada, 'scheduled')}/row").text


def test_the_week_view_says_so_when_nothing_is_planned_in_it(app, client, ada):
    make_post(app, ada, "draft")
    make_post(app, ada, "scheduled", content="Far ahead", at=utcnow() + timedelta(days=10))
    page = client.get("/").text
    assert "Nothing planned for the next 7 days." in page and 'class="week-days"' not in page
    make_post(app, ada, "scheduled", content="Tomorrow-ish", at=utcnow() + timedelta(days=1))
    week = re.search(r'<section class="week".*?</section>', client.get("/").text, re.S).group(0)
    assert 'class="week-days"' in week and "Tomorrow-ish" in week and "Far ahead" not in week


# ---------------------------------------------------------------- big dashboards


def section_html(page: str, key: str) -> str:
    return re.search(rf'<section class="section section-{key}".*?</section>', page, re.S).group(0)


def test_a_section_shows_its_first_posts_and_offers_the_rest(app, client, ada):
    """A busy account's dashboard stays light: each section its first posts, and 'Show all N'."""
    limit = SECTION["drafts"].shown
    ids = [make_post(app, ada, "draft", content=f"draft number {i}") for i in range(limit + 3)]
    page = client.get("/").text
    drafts = section_html(page, "drafts")
    assert f'<span class="count">{limit + 3}</span>' in drafts
    assert drafts.count('<article class="post') == limit
    assert f"draft number {limit + 2}" in drafts  # newest first
    assert "draft number 0<" not in drafts
    assert f"Show all {limit + 3} in Drafts" in drafts

    expanded = client.get("/?all=drafts")
    drafts = section_html(expanded.text, "drafts")
    assert drafts.count('<article class="post') == limit + 3
    assert "Show fewer" in drafts and all(post_id in drafts for post_id in ids)
    # the expanded section stays expanded when the list refreshes itself
    assert 'hx-get="/?all=drafts"' in expanded.text
    assert client.get("/?all=nonsense").status_code == 200  # an unknown section expands nothing


def test_upcoming_keeps_the_soonest_posts_when_there_are_many(app, client, ada):
    limit = SECTION["upcoming"].shown
    now = utcnow()
    for i in range(limit + 2):
        make_post(app, ada, "scheduled", content=f"upcoming {i:03d}", at=now + timedelta(hours=i + 1))
    upcoming = section_html(client.get("/").text, "upcoming")
    assert "upcoming 000" in upcoming and f"upcoming {limit - 1:03d}" in upcoming
    assert f"upcoming {limit:03d}" not in upcoming


@with_n8n
def test_a_long_list_of_posts_at_risk_is_cut_short(app, client, ada):
    now = utcnow()
    connect_linkedin(app, ada, expires_at=now + timedelta(days=2))
    for i in range(AT_RISK_SHOWN + 4):
        make_post(app, ada, "scheduled", content=f"late one {i}", at=now + timedelta(days=3, hours=i))
    page = client.get("/").text
    warning = re.search(r'<section class="warning warning-expires_before".*?</section>', page, re.S).group(0)
    assert warning.count("<li>") == AT_RISK_SHOWN + 1
    assert "… and 4 more" in warning


# ---------------------------------------------------------------- calmer rows: one primary action, "More"

def controls_of(row_html: str) -> tuple[list[str], list[str]]:
    """(the controls outside the More menu, the labels inside it), in order."""
    outside, _, menu = row_html.partition('<details class="menu" data-menu>')
    label = r'data-control="[a-z_]+">([^<]+)</'
    return re.findall(label, outside), re.findall(label, menu)


@pytest.mark.parametrize("status, kind, primary, menu", [
    ("draft", None, ["Schedule"], ["Add to queue", "Publish now…", "Edit", "Duplicate", "Details", "Delete…"]),
    ("scheduled", None, ["Reschedule"], ["Publish now…", "Edit", "Unschedule", "Duplicate", "Details", "Delete…"]),
    ("publishing", None, [], ["Duplicate", "Details"]),
    ("published", None, [], ["Duplicate", "Details", "Delete…"]),
    ("failed", "rejected", ["Retry"], ["Reschedule", "Edit", "Back to drafts", "Duplicate", "Details", "Delete…"]),
    # it may be on LinkedIn: its two ways out (issue 19) instead of a blind Retry
    ("failed", "unconfirmed", ["It is on LinkedIn…"],
     ["It is not there, send it again…", "Reschedule", "Edit", "Back to drafts", "Duplicate", "Details", "Delete…"]),
])
def test_each_row_has_one_primary_action_and_the_rest_in_a_more_menu(app, client, ada, status, kind, primary, menu):
    post_id = make_post(app, ada, status, kind=kind or "rejected")
    row = client.get(f"/posts/{post_id}/row", headers=HX).text
    assert controls_of(row) == (primary, menu)
    assert row.count('class="button primary') + row.count('class="primary') == len(primary)
    # the menu is a <details> disclosure: it works without JavaScript and from the keyboard
    assert ('<summary class="button" aria-label="More actions for this post">More</summary>' in row) == bool(menu)


def test_the_controls_are_exactly_what_the_status_table_allows(app, client, ada):
    from webapp.dispatch.states import ALLOWED
    from webapp.posts.widgets import QUEUE_FROM, offered

    for status in ALLOWED:
        post_id = make_post(app, ada, status)
        names = set(re.findall(r'data-control="([a-z_]+)"', client.get(f"/posts/{post_id}/row", headers=HX).text))
        queue = {"queue"} if status in QUEUE_FROM else set()  # Add to queue: a schedule at the next free slot
        assert names == {str(a) for a in offered(status)} | {"details"} | queue, status
        # on the post's own page, "Details" is not offered: it is where the user is
        page = client.get(f"/posts/{post_id}").text
        assert 'data-control="details"' not in page, status


def test_every_menu_control_works_without_javascript(app, client, ada):
    post_id = make_post(app, ada, "draft", content="Copy me")
    row = client.get("/").text
    # Duplicate is a plain form inside the menu: posting it redirects back with the copy made
    action = re.search(rf'<form method="post" action="(/posts/{post_id}/duplicate)"', row).group(1)
    response = post_form(client, action)
    assert response.status_code == 302
    assert client.get("/").text.count("Copy me") >= 2
