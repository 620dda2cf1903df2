"""The LinkedIn preview beside the composer: how a post looks in the feed, where LinkedIn folds it
behind "…see more", and which words it highlights. Pure functions; static/js/preview.js applies
the same rule as you type (tests/e2e/test_preview_browser.py checks that the two agree).

The fold rule (docs/dashboard.md says where it comes from): the feed shows the first
`LINES` lines of a post, then "…see more". A line is a line of the feed's text box: a
paragraph wraps at about `WIDTH[device]` characters (word by word; a longer word is cut), and
an empty line (a blank line between paragraphs) counts as one. When the last shown line would
be empty, the preview stops one line earlier (LinkedIn shows 2 lines then). A post that fits
in `LINES` lines is shown whole, with no fold.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Lines of text the feed shows before "…see more" (desktop and mobile alike; mobile lines are shorter).
LINES = 3
#: Characters on one line of the feed's text box: desktop ~70 (3 lines ≈ 210 characters), mobile ~48.
WIDTH = {"desktop": 70, "mobile": 48}
DEVICES = tuple(WIDTH)

#: A hashtag or an @mention: # or @ after a start, a space or punctuation, then letters, digits or _.
TAG = re.compile(r"(?<![\w#@])([#@])(\w+)")


@dataclass(frozen=True)
class Piece:
    """A run of the post's text: plain, a hashtag, or a mention."""

    kind: str  # "text" | "hashtag" | "mention"
    text: str


@dataclass(frozen=True)
class Fold:
    """The post as one device's feed shows it: the part above the fold and the rest."""

    device: str
    visible: str
    hidden: str

    @property
    def folded(self) -> bool:
        return bool(self.hidden)

    @property
    def visible_chars(self) -> int:
        """Characters above the fold (code points; a line break counts as one)."""
        return len(self.visible)

    @property
    def visible_pieces(self) -> list[Piece]:
        return pieces(self.visible)

    @property
    def hidden_pieces(self) -> list[Piece]:
        return pieces(self.hidden)


def normalise(text: str) -> str:
    """The text as it is sent: Windows line breaks made one, ends trimmed (validation.clean_content)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def wrap(paragraph: str, width: int) -> list[int]:
    """Where each feed line of one paragraph ends (offsets into it), wrapping word by word at
    `width` characters; an empty paragraph is one (empty) line."""
    ends: list[int] = []
    start = 0
    n = len(paragraph)
    if n == 0:
        return [0]
    while start < n:
        if n - start <= width:
            ends.append(n)
            break
        cut = paragraph.rfind(" ", start, start + width + 1)
        if cut <= start:  # one word longer than a line: cut it
            cut = start + width
            ends.append(cut)
            start = cut
        else:
            ends.append(cut)
            start = cut + 1  # the space that wrapped is not shown
    return ends


def fold(text: str, device: str = "desktop") -> Fold:
    """Split the post where the feed of `device` shows "…see more" (see the module docstring)."""
    text = normalise(text)
    width = WIDTH[device]
    lines: list[tuple[int, int]] = []  # (start, end) offsets into text of each feed line
    offset = 0
    for paragraph in text.split("\n"):
        start = 0
        for end in wrap(paragraph, width):
            lines.append((offset + start, offset + end))
            start = end + 1 if end < len(paragraph) and paragraph[end:end + 1] == " " else end
        offset += len(paragraph) + 1
    if len(lines) <= LINES:
        return Fold(device, text, "")
    shown = LINES
    if lines[shown - 1][0] == lines[shown - 1][1]:  # the last shown line is blank: LinkedIn stops before it
        shown -= 1
    cut = lines[shown - 1][1]
    return Fold(device, text[:cut], text[cut:])


def pieces(text: str) -> list[Piece]:
    """The text cut into plain runs, hashtags and mentions (the preview highlights the last two)."""
    out: list[Piece] = []
    at = 0
    for match in TAG.finditer(text):
        if match.start() > at:
            out.append(Piece("text", text[at:match.start()]))
        out.append(Piece("hashtag" if match.group(1) == "#" else "mention", match.group(0)))
        at = match.end()
    if at < len(text):
        out.append(Piece("text", text[at:]))
    return out


def folds(text: str) -> dict[str, Fold]:
    """The post folded for every device the preview offers."""
    return {device: fold(text, device) for device in DEVICES}


def initials(name: str) -> str:
    """Up to two initials for the placeholder picture."""
    letters = [word[0] for word in name.replace("@", " ").split() if word[:1].isalnum()]
    return "".join(letters[:2]).upper() or "?"


@dataclass(frozen=True)
class Author:
    """Who the preview shows as the author: the LinkedIn name and picture when known."""

    name: str
    picture: str | None
    note: str

    @property
    def initials(self) -> str:
        return initials(self.name) if self.picture is None and self.note != PLACEHOLDER_NOTE else ""


PLACEHOLDER_NOTE = "Connect LinkedIn to see your name and picture"


def author_of(name: str | None, picture: str | None, *, connected: bool) -> Author:
    """The author line: LinkedIn's name and picture, or a neutral placeholder."""
    if connected and name:
        return Author(name, picture, "Now · 🌐")
    if connected:
        return Author("You", None, "Now · 🌐 (LinkedIn gave no name: Connect LinkedIn shows it)")
    return Author("Your name", None, PLACEHOLDER_NOTE)


def context(content: str, image_url: str, author: Author) -> dict[str, object]:
    """What templates/posts/_preview.html renders."""
    text = normalise(content)
    image = image_url.strip()
    return {
        "content": text,
        "length": len(text),
        "folds": folds(text),
        "author": author,
        "image_url": image if image.startswith(("https://", "http://")) else "",
        "lines": LINES,
        "widths": WIDTH,
    }
