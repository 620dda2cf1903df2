"""Bounded requests: MAX_CONTENT_LENGTH for the whole app (a 3,000-character post fits with room to
spare), and the unauthenticated alarm endpoints refuse more than a few KB with 413 before reading:
a 64 MB body, with a Content-Length or chunked, leaves the process's memory where it was."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from webapp.config import MAX_ALARM_BODY, MAX_CONTENT_LENGTH

from .factories import sign_in
from .test_posts import post_form

MB = 1024 * 1024
#: The largest characters there are: 4 bytes in UTF-8, 12 bytes form-encoded or JSON-escaped.
WIDEST = "\U0001f600"
ALARM_PATHS = ["/api/posts/dispatch", "/api/posts/recover"]


def test_a_3000_character_post_of_the_widest_characters_fits(app, client, user):
    _, headers = user
    content = WIDEST * 3000
    body = json.dumps({"content": content, "imageUrl": "https://example.com/" + "a" * 2000})  # \ud83d\ude00 each
    assert 36_000 < len(body) < MAX_CONTENT_LENGTH
    created = client.post("/api/posts", data=body, headers={**headers, "Content-Type": "application/json"})
    assert created.status_code == 201 and created.json["content"] == content


def test_the_compose_form_takes_a_3000_character_post_of_the_widest_characters(app, client):
    sign_in(app, client)
    response = post_form(client, "/posts/new", {"content": WIDEST * 3000, "intent": "save"})
    assert response.status_code == 302
    assert client.get("/api/posts").json["posts"][0]["content"] == WIDEST * 3000


def test_a_body_over_the_apps_limit_is_413_with_a_sentence(app, client, user):
    _, headers = user
    body = json.dumps({"content": "x" * (MAX_CONTENT_LENGTH + 1)})
    response = client.post("/api/posts", data=body, headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 413
    limit = f"at most {MAX_CONTENT_LENGTH:,} bytes are accepted here."
    assert response.json["error"] == f"That request is too large: {limit}"
    assert client.get("/api/posts", headers=headers).json["posts"] == []
    page = client.post("/login", data={"email": "a@example.com", "password": "x" * (MAX_CONTENT_LENGTH + 1)})
    assert page.status_code == 413 and "That request is too large" in page.text


@pytest.mark.parametrize("path", ALARM_PATHS)
def test_an_alarm_endpoint_refuses_more_than_a_few_kb_before_checking_anything(client, path):
    body = b"{" + b" " * MAX_ALARM_BODY + b"}"
    response = client.post(path, data=body, headers={"Upstash-Signature": "forged", "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json["error"] == f"That request is too large: at most {MAX_ALARM_BODY:,} bytes are accepted here."
    # a small forged body is still a 401: the limit is checked first, the signature next
    small = client.post(path, data=b"{}", headers={"Upstash-Signature": "forged"})
    assert small.status_code == 401


# ---------------------------------------------------------------- 64 MB against a real server


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/self/status")


class PeakMemory:
    """The process's peak resident memory while the block runs, above what it was before: the
    kernel's high-water mark, reset at the start (clear_refs 5), or sampled every millisecond."""

    def __enter__(self) -> PeakMemory:
        self.before = rss_kb("VmRSS")
        try:
            Path("/proc/self/clear_refs").write_text("5")
            self.sampler = None
        except OSError:
            self.peak, self.stop = self.before, threading.Event()
            self.sampler = threading.Thread(target=self._sample, daemon=True)
            self.sampler.start()
        return self

    def _sample(self) -> None:
        while not self.stop.wait(0.001):
            self.peak = max(self.peak, rss_kb("VmRSS"))

    def __exit__(self, *exc) -> None:
        if self.sampler is None:
            self.peak = rss_kb("VmHWM")
        else:
            self.stop.set()
            self.sampler.join()
        self.growth_mb = (self.peak - self.before) / 1024


def flood(url: str, path: str, *, chunked: bool, size: int = 64 * MB) -> int:
    """POST `size` bytes with a forged signature over a raw socket, from one reused 64 KB buffer;
    the answer's status, read while the body is still being sent."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=15)
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nContent-Type: application/json\r\n"
                 f"Upstash-Signature: forged\r\n{length}\r\n\r\n".encode())
    chunk = b" " * (64 * 1024)
    framed = b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk

    def pump() -> None:
        try:
            for _ in range(size // len(chunk)):
                sock.sendall(framed)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except OSError:  # the server answered and closed: the rest is never sent
            pass

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    try:
        status_line = sock.makefile("rb").readline()
    finally:
        sock.shutdown(socket.SHUT_RDWR)
        sender.join(timeout=30)
        sock.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ALARM_PATHS)
def test_a_64_mb_body_is_refused_without_the_memory_growing(served, path, chunked):
    flood(served.url, path, chunked=chunked, size=MB)  # warm up: the first request imports and connects
    with PeakMemory() as memory:
        status = flood(served.url, path, chunked=chunked)
    assert memory.growth_mb < 4, f"memory grew {memory.growth_mb:.1f} MB while answering {status} to 64 MB"
    assert status == 413
