"""Validation of what users send about a post. Pure functions; every refusal is a sentence."""

from __future__ import annotations

import ipaddress
import re

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
    """The image URL as typed (trimmed), or InvalidInput: only public http(s) addresses.

    The n8n workflow downloads this URL, so an internal one would make n8n a proxy into its own
    network. These rules are the workflow's own (docs/n8n/code/prepare.js, docs/n8n/README.md
    "Image URLs"; tests/test_image_urls.py checks both give the same verdict): the host is read as
    the download's WHATWG URL parser reads it, and a literal internal address in any spelling, a
    local or single-label name, credentials, or a host that parser reads in a surprising way are
    refused. A public name whose DNS answer is a private address cannot be seen from the text.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput("imageUrl must be a string (or null).")
    url = value.strip()
    if len(url) > MAX_IMAGE_URL:
        raise InvalidInput(f"imageUrl is longer than {MAX_IMAGE_URL:,} characters.")
    problem = image_url_problem(url)
    if problem is not None:
        raise InvalidInput(f"imageUrl {problem}.")
    return url


#: IPv4 blocks that are not public addresses, with what each is (the workflow's V4_BLOCKS).
V4_BLOCKS = [(ipaddress.IPv4Network(net), what) for net, what in (
    ("0.0.0.0/8", 'an unspecified ("this network") address'), ("10.0.0.0/8", "a private address"),
    ("100.64.0.0/10", "a shared (carrier-grade NAT) address"), ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address"), ("172.16.0.0/12", "a private address"),
    ("192.0.0.0/24", "a reserved address"), ("192.0.2.0/24", "a reserved (documentation) address"),
    ("192.168.0.0/16", "a private address"), ("198.18.0.0/15", "a reserved (benchmarking) address"),
    ("198.51.100.0/24", "a reserved (documentation) address"),
    ("203.0.113.0/24", "a reserved (documentation) address"),
    ("224.0.0.0/4", "a multicast address"), ("240.0.0.0/4", "a reserved address"),
)]
#: Names that only mean something inside a network.
LOCAL_NAMES = re.compile(r"(^|\.)(localhost|local|internal|localdomain|home\.arpa)$")
NOT_URL = "is not a valid http:// or https:// address"


def _public(what: str | None) -> str | None:
    return what and f"points to {what}, not a public one"


def v4_problem(address: ipaddress.IPv4Address) -> str | None:
    return next((what for net, what in V4_BLOCKS if address in net), None)


def v6_problem(address: ipaddress.IPv6Address) -> str | None:
    g = [int.from_bytes(address.packed[i:i + 2], "big") for i in range(0, 16, 2)]

    def embedded(at: int) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address((g[at] << 16) | g[at + 1])

    if not any(g):
        return "an unspecified address"
    if not any(g[:7]) and g[7] == 1:
        return "a loopback address"
    if not any(g[:5]) and g[5] == 0xFFFF:  # ::ffff:a.b.c.d: judged by the IPv4 address it carries
        inner = v4_problem(embedded(6))
        return inner and f"{inner} (IPv4-mapped)"
    if g[0] == 0x64 and g[1] == 0xFF9B and not any(g[2:6]):  # 64:ff9b::/96, NAT64
        inner = v4_problem(embedded(6))
        return inner and f"{inner} (NAT64)"
    if g[0] == 0x2002:  # 6to4 carries an IPv4 address in its next 32 bits
        inner = v4_problem(embedded(1))
        return inner and f"{inner} (6to4)"
    for mask, prefix, what in (
        (0xFE00, 0xFC00, "a private (unique local) address"), (0xFFC0, 0xFE80, "a link-local address"),
        (0xFFC0, 0xFEC0, "a private (site-local) address"), (0xFF00, 0xFF00, "a multicast address"),
    ):
        if g[0] & mask == prefix:
            return what
    if g[0] & 0xE000 != 0x2000:  # only 2000::/3 is global unicast
        return "a reserved address"
    if g[0] == 0x2001 and g[1] < 0x200:  # 2001::/23, Teredo
        return "a reserved (IETF protocol) address"
    if (g[0], g[1]) == (0x2001, 0xDB8) or (g[0] == 0x3FFF and g[1] < 0x1000):
        return "a reserved (documentation) address"
    return None


def _v4_number(part: str) -> int | None:
    """WHATWG's IPv4 number: 0x.. hex, 0.. octal, else decimal; None when it is not one."""
    if part == "":
        return None
    radix, digits = 10, part
    if part[:2].lower() == "0x":
        radix, digits = 16, part[2:]
    elif len(part) > 1 and part[0] == "0":
        radix, digits = 8, part[1:]
    if digits == "":
        return 0
    allowed = {10: "0123456789", 16: "0123456789abcdefABCDEF", 8: "01234567"}[radix]
    return int(digits, radix) if all(c in allowed for c in digits) else None


def v4_host(name: str) -> ipaddress.IPv4Address | str | None:
    """WHATWG's reading of an ASCII host: an IPv4 address when its last label is a number (so
    2130706433, 0x7f000001, 0177.0.0.1 and 127.1 are all 127.0.0.1), None when such a host is
    not a valid address, "domain" otherwise."""
    parts = name.split(".")
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    if not (re.fullmatch(r"[0-9]+", parts[-1]) or _v4_number(parts[-1]) is not None):
        return "domain"
    numbers = [_v4_number(p) for p in parts]
    if len(parts) > 4 or any(n is None for n in numbers):
        return None
    known = [n for n in numbers if n is not None]
    if any(n > 255 for n in known[:-1]) or known[-1] >= 256 ** (5 - len(known)):
        return None
    value = known[-1] + sum(n * 256 ** (3 - i) for i, n in enumerate(known[:-1]))
    return ipaddress.IPv4Address(value)


def image_url_problem(url: str) -> str | None:
    """Why this (trimmed) URL may not be an image URL, as the end of a sentence; None if it may."""
    if re.search(r"[\x00-\x20\x7f\\]", url):
        return "contains spaces, control characters or backslashes"
    parts = re.fullmatch(r"([a-zA-Z][a-zA-Z0-9+.-]*):(.*)", url, re.DOTALL)
    if not parts or parts[1].lower() not in ("http", "https"):
        return "must be an http:// or https:// address"
    if not parts[2].startswith("//"):
        return NOT_URL
    after = parts[2][2:]
    authority = re.split(r"[/?#]", after, maxsplit=1)[0]
    if "@" in authority:
        return "must not carry a user name or password"
    host_port = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::([0-9]*))?", authority)
    if not host_port or not host_port[1]:
        return "must be an http:// or https:// address"
    if host_port[2] and int(host_port[2]) > 65535:
        return NOT_URL
    host = host_port[1].lower()
    if host.startswith("["):
        text = host[1:-1]
        try:
            address = ipaddress.IPv6Address(text) if re.fullmatch(r"[0-9a-f:.]+", text) else None
        except ValueError:
            address = None
        if address is None:
            return "has an IPv6 host that cannot be read"
        return _public(v6_problem(address))
    if re.search(r"[^\x21-\x7e]", host):
        return "has a non-ASCII host name; use its ASCII (xn--) form"
    if not re.fullmatch(r"[a-z0-9._-]+", host):
        return "has a host name that cannot be read"
    read = v4_host(host)
    if read is None:
        return NOT_URL
    if isinstance(read, ipaddress.IPv4Address):
        return _public(v4_problem(read))
    name = host.removesuffix(".")
    labels = name.split(".")
    if "" in labels:
        return "has a host name that cannot be read"
    if LOCAL_NAMES.search(name):
        return "points to a local host name, not a public one"
    if len(labels) == 1:
        return "has a single-label host name; use the full public name"
    return None


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
