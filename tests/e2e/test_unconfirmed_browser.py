"""Issue 19 in a real browser: the two ways out of an unconfirmed post, and the pipeline check in
Settings (with htmx, and with scripts off)."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from webapp.models import utcnow

from ..receiver import Answer
from .conftest import Person, shoot

MAYBE = Answer(502, {"message": "LinkedIn did not answer in time: the post may have been published — check LinkedIn."})
DRY_OK = {"dryRun": True, "linkedin": "ok", "name": "Ada Lovelace", "personUrn": "urn:li:person:AbC123",
          "samePerson": True}


def unconfirmed(person: Person, text: str):
    """Publish `text` now; n8n answers 502, so it fails as unconfirmed. Its row, in Failed."""
    person.connect_linkedin_directly()
    person.compose(text, intent="Publish now")
    person.page.wait_for_url(person.live.url + "/")
    row = person.row(text, "failed")
    expect(row.locator(".badge")).to_have_text("failed", timeout=10_000)
    expect(row.locator(".post-failure")).to_contain_text("Unconfirmed: it may have been published")
    return row


def test_it_is_on_linkedin_marks_an_unconfirmed_post_published_with_its_link(live, receiver, person):
    text = "Maybe on LinkedIn already"
    receiver.answer = MAYBE
    row = unconfirmed(person, text)
    page = person.page
    person.mark()
    expect(row.get_by_role("button", name="Retry")).to_have_count(0)  # a blind resend is not offered
    shoot(page, "unconfirmed-row")

    row.get_by_role("link", name="It is on LinkedIn…").click()
    field = row.get_by_label("Its address on LinkedIn (optional)")
    field.fill("https://example.com/not-linkedin")
    row.get_by_role("button", name="Mark as published").click()
    expect(row.locator(".error")).to_contain_text("That is not the address of a LinkedIn post")
    shoot(page, "unconfirmed-confirm-refused")

    row.get_by_label("Its address on LinkedIn (optional)").fill(
        "https://www.linkedin.com/feed/update/urn:li:share:7123/")
    row.get_by_role("button", name="Mark as published").click()
    published = person.row(text, "published")
    expect(published.get_by_role("link", name="View it on LinkedIn")).to_have_attribute(
        "href", "https://www.linkedin.com/feed/update/urn:li:share:7123/")
    shoot(page, "unconfirmed-confirmed")
    assert person.not_reloaded()
    assert len([a for a in receiver.arrivals if a.body.get("content") == text]) == 1  # never sent again

    published.get_by_text("More", exact=True).click()  # the row's "More" menu (issue 17)
    published.get_by_role("link", name="Details").click()
    newest = page.locator("table.attempts tbody tr").nth(0)
    expect(newest).to_contain_text("confirmed")
    expect(newest).to_contain_text(f"Confirmed as on LinkedIn by {person.email}")


def test_it_is_not_there_sends_it_again_with_a_new_key(live, receiver, person):
    text = "Not on LinkedIn after all"
    answers = iter([MAYBE, Answer(201, {"linkedinPostUrn": "urn:li:share:7124"})])
    receiver.answer = lambda arrival: next(answers)
    row = unconfirmed(person, text)
    page = person.page
    person.mark()

    row.get_by_text("More", exact=True).click()  # "It is on LinkedIn…" is the primary; this one is in More
    row.get_by_role("link", name="It is not there, send it again…").click()
    expect(row.locator(".post-confirm")).to_contain_text("You checked LinkedIn and this post is not there.")
    shoot(page, "unconfirmed-resend-asking")
    row.get_by_role("button", name="It is not there: send it again now").click()

    published = person.row(text, "published")
    expect(published.locator(".badge")).to_have_text("published", timeout=10_000)
    assert person.not_reloaded()
    sent = [a for a in receiver.arrivals if a.body.get("content") == text]
    assert len(sent) == 2 and sent[0].key != sent[1].key  # a new version: n8n does not drop it as a repeat
    shoot(page, "unconfirmed-resent")


def test_check_the_pipeline_in_settings_shows_each_step(live, receiver, person):
    person.connect_linkedin_directly()
    receiver.answer = Answer(404, {"message": 'The requested webhook "POST linkedin-post" is not registered.'})
    page = person.go("/settings")
    person.mark()
    widget = page.locator("#pipeline")
    expect(widget).to_contain_text("Not checked yet.")
    widget.get_by_role("button", name="Check the pipeline").click()
    expect(widget).to_contain_text("The last check failed.")
    steps = widget.locator(".check-step")
    expect(steps).to_have_count(5)
    expect(steps.nth(1)).to_contain_text("passed")
    expect(steps.nth(2)).to_contain_text("failed")
    expect(steps.nth(2)).to_contain_text("activate (publish) the workflow in n8n")
    expect(steps.nth(4)).to_contain_text("not checked")
    assert person.not_reloaded()
    shoot(page, "pipeline-check-failed")

    # a post due within 24 hours: the dashboard now says the pipeline is broken
    person.compose("Due in two hours", at=utcnow() + timedelta(hours=2))
    page.wait_for_url(live.url + "/")
    warning = page.get_by_role("note", name="Pipeline warning")
    expect(warning).to_contain_text("The last pipeline check failed")
    expect(warning).to_contain_text("1 post is due within 24 hours")
    shoot(page, "dashboard-pipeline-warning", full_page=False)
    warning.get_by_role("link", name="Open the pipeline check").click()
    page.wait_for_url(live.url + "/settings#pipeline")

    receiver.answer = lambda arrival: Answer(body=DRY_OK if arrival.body.get("dryRun") else None)
    widget.get_by_role("button", name="Check the pipeline").click()
    expect(widget).to_contain_text("Every step passed.")
    expect(widget).to_contain_text("LinkedIn knows the token as Ada Lovelace.")
    shoot(page, "pipeline-check-passed")
    dry = [a for a in receiver.arrivals if a.body.get("dryRun")][-1]
    assert dry.headers["X-Punctual-Dry-Run"] == "1" and "content" not in dry.body


def test_check_the_pipeline_works_without_javascript(live, receiver, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.set_default_timeout(10_000)
    person = Person(live, page, zone="UTC").sign_in_directly()
    person.connect_linkedin_directly()
    receiver.answer = Answer(403, {"message": "Authorization data is wrong!"})
    person.go("/settings").get_by_role("button", name="Check the pipeline").click()
    page.wait_for_url(live.url + "/settings#pipeline")
    expect(page.locator(".flash-error")).to_contain_text("The pipeline check failed")
    expect(page.locator("#pipeline .check-step").nth(1)).to_contain_text(  # this server sends no secret
        "n8n wants a secret and Punctual sends none (HTTP 403")
