"""The LinkedIn preview beside the composer: where the feed folds a post behind "…see more"
(a pure rule, table-tested), what it highlights, and the preview the server renders before any
JavaScript runs (its author, the fold, the count, the image)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from webapp.extensions import db
from webapp.models import LinkedInConnection
from webapp.posts.preview import LINES, WIDTH, Piece, author_of, fold, pieces

from .conftest import connect_linkedin
from .factories import sign_in

D, M = WIDTH["desktop"], WIDTH["mobile"]


@pytest.mark.parametrize(("text", "device", "visible", "folded"), [
    # fits in three lines: shown whole, no fold
    ("Short and sweet.", "desktop", "Short and sweet.", False),
    ("one\ntwo\nthree", "desktop", "one\ntwo\nthree", False),
    # a fourth line folds, on either device
    ("one\ntwo\nthree\nfour", "desktop", "one\ntwo\nthree", True),
    ("one\ntwo\nthree\nfour", "mobile", "one\ntwo\nthree", True),
    # a blank third line: LinkedIn shows two lines, not a blank one
    ("one\ntwo\n\nfour", "desktop", "one\ntwo", True),
    # a blank second line counts as a line
    ("one\n\nthree\nfour", "desktop", "one\n\nthree", True),
    # long text wraps word by word: three lines of 70 characters on desktop ...
    ("word " * 60, "desktop", ("word " * 42)[:-1], True),
    # ... and of 48 on mobile, so fewer characters are visible
    ("word " * 60, "mobile", ("word " * 27)[:-1], True),
    # a word longer than a line is cut
    ("x" * 300, "desktop", "x" * (3 * D), True),
    ("x" * 300, "mobile", "x" * (3 * M), True),
    # Windows line breaks are one, ends trimmed, like what is sent
    ("  a\r\nb\r\nc\r\nd  ", "desktop", "a\nb\nc", True),
    ("", "desktop", "", False),
])
def test_the_feed_folds_after_three_lines(text, device, visible, folded):
    result = fold(text, device)
    assert result.visible == visible
    assert result.folded is folded
    assert result.visible_chars == len(visible)
    assert result.visible + result.hidden == text.replace("\r\n", "\n").strip()


def test_three_lines_hold_about_210_characters_on_desktop_and_fewer_on_mobile():
    text = "Writers care most about the hook above the fold, so it should be short. " * 10
    desktop, mobile = fold(text, "desktop"), fold(text, "mobile")
    assert LINES == 3
    assert 180 <= desktop.visible_chars <= 3 * D == 210
    assert mobile.visible_chars < desktop.visible_chars <= 3 * D


@pytest.mark.parametrize(("text", "expected"), [
    ("Hello #LinkedIn and @Ada!", [Piece("text", "Hello "), Piece("hashtag", "#LinkedIn"),
                                   Piece("text", " and "), Piece("mention", "@Ada"), Piece("text", "!")]),
    ("#first\n#zweite_Ära", [Piece("hashtag", "#first"), Piece("text", "\n"), Piece("hashtag", "#zweite_Ära")]),
    # not a tag: inside a word (an e-mail address), a lone sign, a double sign
    ("mail ada@example.com, # alone, ##twice", [Piece("text", "mail ada@example.com, # alone, ##twice")]),
    ("(#inside)", [Piece("text", "("), Piece("hashtag", "#inside"), Piece("text", ")")]),
])
def test_hashtags_and_mentions_are_picked_out(text, expected):
    assert pieces(text) == expected


def test_the_author_is_the_linkedin_name_or_a_placeholder():
    assert author_of("Ada Lovelace", "https://media.licdn.com/a.jpg", connected=True).name == "Ada Lovelace"
    named = author_of("Ada Lovelace", None, connected=True)
    assert (named.picture, named.initials) == (None, "AL")
    placeholder = author_of(None, None, connected=False)
    assert placeholder.name == "Your name" and placeholder.initials == ""
    assert "Connect LinkedIn" in placeholder.note


def preview_of(html: str) -> str:
    match = re.search(r'<section[^>]*aria-label="LinkedIn preview".*?</section>', html, re.S)
    assert match, "no LinkedIn preview region in the page"
    return match.group(0)


def test_the_compose_page_renders_the_preview_without_javascript(app, client):
    sign_in(app, client, zone="Europe/Berlin")
    region = preview_of(client.get("/posts/new").text)
    assert 'role="region"' in region
    assert "Your post appears here as you type." in region
    assert "Your name" in region and "Connect LinkedIn to see your name and picture" in region
    assert "preview.js" in client.get("/posts/new").text


def test_editing_a_post_previews_its_text_folded_with_the_count(app, client):
    user_id = sign_in(app, client, zone="Europe/Berlin")
    connect_linkedin(app, user_id)
    with app.app_context():
        connection = db.session.query(LinkedInConnection).filter_by(user_id=user_id).one()
        connection.display_name, connection.picture_url = "Ada Lovelace", "https://media.licdn.com/ada.jpg"
        db.session.commit()
    from webapp.dispatch import actions

    from .conftest import core_of
    text = "A hook that earns the click #writing\n@Grace said so.\n\nThen the rest of the story, below the fold."
    with app.test_request_context():
        post_id = actions.create_post(core_of(app), user_id=user_id,
                                      fields={"content": text, "image_url": "https://example.com/a.png"})
    region = preview_of(client.get(f"/posts/{post_id}/edit").text)
    assert "Ada Lovelace" in region and 'src="https://media.licdn.com/ada.jpg"' in region
    assert '<span class="li-hashtag">#writing</span>' in region
    assert '<span class="li-mention">@Grace</span>' in region
    assert 'class="li-image" src="https://example.com/a.png"' in region
    visible = fold(text, "desktop").visible
    assert visible == "A hook that earns the click #writing\n@Grace said so."
    counts = re.findall(r'<strong class="li-count-value">(\d+)</strong> characters before', region)
    assert counts == [str(len(visible)), str(len(fold(text, "mobile").visible))]
    assert unescape("…see more") in region
