"""Security headers on every response: a Content-Security-Policy without inline script or style and
with frame-ancestors 'none', nosniff, a Referrer-Policy, HSTS in production; and nothing in the
templates that such a policy would block (the browser tests run under it: tests/e2e/)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webapp.headers import CSP

from .conftest import configured
from .factories import make_post, sign_in

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def directives(policy: str) -> dict[str, list[str]]:
    return {name: values for name, *values in (part.split() for part in policy.split(";"))}


def test_the_policy_allows_only_this_origin_and_no_inline_code():
    policy = directives(CSP)
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert not any("unsafe" in value or value == "*" for values in policy.values() for value in values)


def responses(app, client):
    """One response of every kind: page, fragment, JSON, static file, 404, 405, 413, redirect."""
    yield "login page", client.get("/login")
    yield "redirect", client.get("/")
    yield "API 401", client.get("/api/posts")
    yield "static", client.get("/static/js/app.js")
    yield "404", client.get("/no-such-page")
    yield "405", client.put("/login")
    yield "413", client.post("/api/posts/dispatch", data=b" " * 10_000)
    yield "health", client.get("/healthz")
    user_id = sign_in(app, client)
    post_id = make_post(app, user_id, "scheduled")
    yield "dashboard", client.get("/")
    yield "fragment", client.get(f"/posts/{post_id}/row", headers={"HX-Request": "true"})
    yield "API JSON", client.get("/api/posts")


def test_every_response_carries_the_security_headers(app, client):
    for kind, response in responses(app, client):
        assert response.headers.get("Content-Security-Policy") == CSP, kind
        assert response.headers.get("X-Content-Type-Options") == "nosniff", kind
        assert response.headers.get("Referrer-Policy") == "same-origin", kind
        assert response.headers.get("X-Frame-Options") == "DENY", kind
        assert "Strict-Transport-Security" not in response.headers, kind  # not outside production


@configured({"APP_ENV": "production"}, "production")
def test_production_adds_hsts(app, client):
    for kind, response in responses(app, client):
        assert response.headers.get("Strict-Transport-Security") == "max-age=31536000", kind
        assert response.headers.get("Content-Security-Policy") == CSP, kind


# ---------------------------------------------------------------- what the policy would block


class Markup(HTMLParser):
    """Collects what a strict CSP blocks: inline scripts, style attributes and <style> elements,
    on… handlers, hx-on, and htmx values that need eval (trigger filters, js: / javascript:)."""

    def __init__(self):
        super().__init__()
        self.blocked: list[str] = []
        self.scripts: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script":
            self.scripts.append(values.get("src") or "")
            if not values.get("src"):
                self.blocked.append("an inline <script>")
        if tag == "style":
            self.blocked.append("a <style> element")
        for name, value in attrs:
            value = value or ""
            if name == "style" or name.startswith(("on", "hx-on", "data-hx-on")):
                self.blocked.append(f"<{tag} {name}=…>")
            if name in ("hx-trigger", "data-hx-trigger") and "[" in value:
                self.blocked.append(f"<{tag} {name}={value!r}> (a trigger filter needs eval)")
            if name in ("hx-vals", "hx-vars", "hx-headers") and value.strip().startswith(("js:", "javascript:")):
                self.blocked.append(f"<{tag} {name}={value!r}> (needs eval)")
            url_like = name in ("href", "action", "src", "hx-get", "hx-post")
            if url_like and value.strip().lower().startswith("javascript:"):
                self.blocked.append(f"<{tag} {name}={value!r}>")


def blocked_in(html: str) -> Markup:
    parser = Markup()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_has_what_the_policy_blocks(path):
    source = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.DOTALL)  # Jinja comments are not sent
    assert blocked_in(source).blocked == []


def pages(app, client):
    yield "/register", client.get("/register").text
    yield "/login", client.get("/login").text
    user_id = sign_in(app, client)
    post_id = make_post(app, user_id, "scheduled")
    make_post(app, user_id, "failed", content="A failed one")
    for path in ("/", "/?all=1", "/posts/new", f"/posts/{post_id}", f"/posts/{post_id}/edit", "/settings", "/inbox"):
        yield path, client.get(path).text
    for path in (f"/posts/{post_id}/row", f"/posts/{post_id}/schedule", f"/posts/{post_id}/delete"):
        yield path, client.get(path, headers={"HX-Request": "true"}).text


def test_no_page_or_fragment_has_what_the_policy_blocks(app, client):
    for path, html in pages(app, client):
        found = blocked_in(html)
        assert found.blocked == [], path
        assert all(src.startswith("/static/") for src in found.scripts), path


def test_htmx_is_configured_for_the_policy(client):
    page = client.get("/login").text
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page).group(1))
    assert config["allowEval"] is False and config["includeIndicatorStyles"] is False
    assert config["allowScriptTags"] is False
    css = client.get("/static/css/app.css").text
    assert ".htmx-indicator { opacity: 0; }" in css and ".htmx-request .htmx-indicator" in css
