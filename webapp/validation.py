"""Validation of what users send about a post. Pure functions; every refusal is a sentence."""

from __future__ import annotations

from urllib.parse import urlsplit

from .dispatch.actions import PostFields
from .dispatch.errors import InvalidInput

#: LinkedIn's limit for a post's commentary.
MAX_CONTENT = 3000
MAX_IMAGE_URL = 2048
POST_FIELDS = {"content", "imageUrl"}


def clean_content(value: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("content must be a string.")
    text = value.replace("\r\n", "\n").strip()
    if not text:
        raise InvalidInput("content is required: write the text of the post.")
    if len(text) > MAX_CONTENT:
        raise InvalidInput(
            f"content is {len(text):,} characters; LinkedIn allows at most {MAX_CONTENT:,}."
        )
    return text


def clean_image_url(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("imageUrl must be a string (or null).")
    url = value.strip()
    if len(url) > MAX_IMAGE_URL:
        raise InvalidInput(f"imageUrl is longer than {MAX_IMAGE_URL:,} characters.")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed "[" (an IPv6 literal)
        raise InvalidInput("imageUrl is not a valid address.") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        raise InvalidInput("imageUrl must be an http:// or https:// address.")
    return url


def post_fields(data: object, *, partial: bool) -> PostFields:
    """Map a JSON body to model fields: {content, image_url}; partial for PATCH."""
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    unknown = sorted(set(data) - POST_FIELDS)
    if unknown:
        raise InvalidInput(
            f"Unknown field {unknown[0]!r}: a post has only 'content' and 'imageUrl' "
            "(schedule it with POST /api/posts/<id>/schedule)."
        )
    if not partial and "content" not in data:
        raise InvalidInput("content is required: write the text of the post.")
    if partial and not (set(data) & POST_FIELDS):
        raise InvalidInput("Nothing to change: send 'content' and/or 'imageUrl'.")
    fields: PostFields = {}
    if "content" in data:
        fields["content"] = clean_content(data["content"])
    if "imageUrl" in data:
        fields["image_url"] = clean_image_url(data["imageUrl"])
    return fields
