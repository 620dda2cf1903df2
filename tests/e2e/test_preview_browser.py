"""The LinkedIn preview in a real browser: it redraws as you type without a request, folds where
the server's rule folds (desktop and mobile), highlights hashtags and mentions, unfolds on
"…see more"."""

from __future__ import annotations

from playwright.sync_api import expect

from webapp.posts.preview import fold

from .conftest import shoot

HOOK = "I scheduled a week of posts in ten minutes.\nHere is how. #LinkedIn tips from @Ada"
BODY = "\n\n" + "Step one: write the hook first, because that is all most readers ever see. " * 4


def test_the_preview_folds_toggles_and_highlights_as_you_type(live, person):
    page = person.go("/posts/new")
    region = page.get_by_role("region", name="LinkedIn preview")
    expect(region).to_contain_text("Your post appears here as you type.")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    page.locator("#content").press_sequentially(HOOK, delay=2)
    desktop = region.locator(".li-desktop")
    expect(desktop.locator(".li-hashtag")).to_have_text("#LinkedIn")
    expect(desktop.locator(".li-mention")).to_have_text("@Ada")
    expect(desktop.locator(".li-more")).to_have_count(0)  # two lines: nothing folded
    expect(desktop.locator(".li-count")).to_contain_text(f"{len(HOOK)} characters, all visible")

    page.locator("#content").fill(HOOK + BODY)
    text = HOOK + BODY
    wanted = fold(text, "desktop")
    expect(desktop.locator(".li-more")).to_be_visible()
    expect(desktop.locator(".li-count-value")).to_have_text(str(wanted.visible_chars))
    expect(desktop.locator(".li-hidden")).to_be_hidden()
    assert desktop.locator(".li-visible").inner_text() == wanted.visible
    assert not [u for u in requests if "/posts" in u], "the preview must not ask the server while typing"
    shoot(page, "preview-desktop")
    region.screenshot(path=str(shoot(page, "preview-region").with_name("preview-region.png")))

    # The mobile toggle: narrower lines, fewer characters before the fold.
    region.get_by_text("Mobile", exact=True).click()
    mobile = region.locator(".li-mobile")
    expect(mobile).to_be_visible()
    expect(desktop).to_be_hidden()
    mobile_fold = fold(text, "mobile")
    expect(mobile.locator(".li-count-value")).to_have_text(str(mobile_fold.visible_chars))
    assert mobile.locator(".li-visible").inner_text() == mobile_fold.visible
    shoot(page, "preview-mobile")

    # The image appears as its address is typed (a local one: the browser tests stay off the network).
    expect(mobile.locator(".li-image")).to_be_hidden()
    image = live.url + "/static/favicon.svg"
    page.fill("#image_url", image)
    expect(mobile.locator(".li-image")).to_be_visible()
    assert mobile.locator(".li-image").get_attribute("src") == image

    # "…see more" unfolds the rest, as the feed does.
    mobile.locator(".li-more").click()
    expect(mobile.locator(".li-hidden")).to_be_visible()
    expect(mobile.locator(".li-more")).to_be_hidden()


def test_the_browser_and_the_server_fold_alike(live, person):
    page = person.go("/posts/new")
    samples = [
        "one\ntwo\n\nfour", "one\n\nthree\nfour", "x" * 300, "word " * 60, "Ünïcödé 🎉 " * 40,
        "A line\nthat\nends early and then a very long paragraph " + "lorem ipsum dolor " * 20,
    ]
    for sample in samples:
        for device in ("desktop", "mobile"):
            got = page.evaluate("([t, d]) => window.PunctualPreview.fold(t, d)", [sample, device])
            want = fold(sample, device)
            assert (got["visible"], got["hidden"]) == (want.visible, want.hidden), (sample, device)
