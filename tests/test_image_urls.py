"""Image URLs must be public: Punctual refuses (400 and a sentence) what the shipped n8n workflow would
refuse before downloading — internal IP literals in any spelling, local and single-label names,
credentials — and both give the same verdict on the same URLs (the workflow's own tables, and
random hosts run through both)."""

from __future__ import annotations

import random

import pytest

from webapp.dispatch.errors import InvalidInput
from webapp.validation import clean_image_url

from .factories import sign_in
from .test_n8n_workflow import PAYLOAD, PUBLIC_IMAGE_URLS, REFUSED_IMAGE_URLS, builder, run_js
from .test_posts import post_form

#: The workflow's reasons that Punctual words its own way (every other reason is worded the same).
OWN_WORDS = {"is not a valid URL", "must start with http:// or https://", "at most 2,048 characters"}


def refusal(url: str) -> str | None:
    try:
        clean_image_url(url)
    except InvalidInput as refused:
        return refused.message
    return None


@pytest.mark.parametrize("url, reason", REFUSED_IMAGE_URLS)
def test_what_the_workflow_refuses_punctual_refuses_with_a_sentence(url, reason):
    message = refusal(url)
    assert message is not None and message.startswith("imageUrl ") and message.endswith(".")
    if reason not in OWN_WORDS:
        assert reason in message, message


@pytest.mark.parametrize("url, fetched", PUBLIC_IMAGE_URLS)
def test_what_the_workflow_downloads_punctual_accepts_as_typed(url, fetched):
    if fetched is None:  # a space in the path: refused by both
        assert refusal(url) is not None
        return
    assert clean_image_url(url) == url.strip()


PIECES = ["0", "1", "7", "9", "127", "0x", "0X7f", "00", ".", ".", ".", "255", "256", "10", "169", "254", "a",
          "ff", "x", "0177", "4294967295", "4294967296", "2130706433", "-", "com", "localhost", ":", "%", "@",
          "\\", "/", "example", "_", "xn--bcher-kva", "internal", "93", "184"]
LABELS = ["example", "com", "xn--bcher-kva", "localhost", "internal", "local", "home", "arpa", "93", "0x5db8d822",
          "1", "0", "a-b", "_x", "", "licdn", "8", "0x7f", "017"]
V6 = ["::1", "::ffff:127.0.0.1", "::ffff:7f00:1", "2606:2800:220:1::1", "fe80::1", "64:ff9b::a9fe:a9fe",
      "2002:7f00:1::", "2002:5db8:d822::", "::ffff:93.184.216.34", "1::", "::", "fd00::", "2001:db8::", "ff02::1",
      "3fff:fff::", "2001:200::1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::", "::ffff:1.2.3", "g::"]


def random_urls(count: int) -> list[str]:
    rnd = random.Random(20261203)
    urls = []
    for _ in range(count):
        if rnd.random() < 0.15:
            host = f"[{rnd.choice(V6)}]"
        elif rnd.random() < 0.3:
            host = ".".join(rnd.choice(LABELS) for _ in range(1 + rnd.randrange(3)))
        else:
            host = "".join(rnd.choice(PIECES) for _ in range(1 + rnd.randrange(6)))
        port = rnd.choice(["", "", ":8080", ":99999", ":"])
        urls.append(f"{rnd.choice(['http', 'https', 'HTTP', 'ftp'])}://{host}{port}/a.png")
    return urls


def test_random_hosts_get_the_same_verdict_from_punctual_and_the_workflow():
    urls = random_urls(1500)
    code = builder.code("prepare")
    results = run_js([{"code": code, "json": {"body": {**PAYLOAD, "imageUrl": url}, "headers": {}}, "env": {},
                       "staticData": {}, "nodes": {}} for url in urls])
    disagree = [(url, refusal(url), done["result"].get("body"))
                for url, done in zip(urls, results, strict=True)
                if (done["result"]["route"] == 2) != (refusal(url) is None)]
    accepted = sum(refusal(url) is None for url in urls)
    assert disagree == [] and 100 < accepted < len(urls) - 100


INTERNAL = ["http://169.254.169.254/latest/meta-data/", "http://localhost:5678/webhook/x", "http://10.1.2.3/a.png",
            "http://[::1]/a.png", "http://2130706433/a.png", "http://127.1/a.png", "http://[::ffff:10.0.0.1]/a.png",
            "http://user:pw@example.com/a.png", "http://intranet/a.png", "http://n8n.localhost/a.png"]


@pytest.mark.parametrize("url", INTERNAL)
def test_the_api_refuses_an_internal_image_url_with_a_sentence(app, client, user, url):
    _, headers = user
    response = client.post("/api/posts", json={"content": "Hello", "imageUrl": url}, headers=headers)
    assert response.status_code == 400 and response.json["error"].startswith("imageUrl ")
    assert client.get("/api/posts", headers=headers).json["posts"] == []
    post_id = client.post("/api/posts", json={"content": "Hello"}, headers=headers).json["id"]
    patched = client.patch(f"/api/posts/{post_id}", json={"imageUrl": url}, headers=headers)
    assert patched.status_code == 400
    assert client.get(f"/api/posts/{post_id}", headers=headers).json["imageUrl"] is None


@pytest.mark.parametrize("url", INTERNAL[:3])
def test_the_compose_form_refuses_an_internal_image_url_next_to_the_field(app, client, url):
    sign_in(app, client)
    response = post_form(client, "/posts/new", {"content": "Hello", "image_url": url, "intent": "save"}, htmx=True)
    assert response.status_code == 400 and 'id="image-error" role="alert">The image URL ' in response.text
    assert "not a public one" in response.text
    assert client.get("/api/posts").json["posts"] == []
