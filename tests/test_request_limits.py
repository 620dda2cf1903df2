"""Bounded requests: MAX_CONTENT_LENGTH for the whole app (a 3,000-character post fits with room to
spare), and the unauthenticated alarm endpoints refuse more than a few KB with 413 before reading:
a 64 MB body, with a Content-Length or chunked, leaves the process's memory where it was."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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

#: The app served on loopback in a process of its own, so that its memory is the server's alone
#: (this process's other threads and earlier tests would blur a few MB). It prints its port.
SERVER = """
import sys
from werkzeug.serving import make_server
from webapp import create_app
app = create_app({"TESTING": True, "INSTANCE_PATH": sys.argv[1], "SECRET_KEY": "k", "AUTO_MIGRATE": False,
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[1] + "/x.db", "LOCAL_DISPATCHER": "off",
                  "APP_URL": "http://localhost"})
server = make_server("127.0.0.1", 0, app, threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(url, pid) of the app served in a process of its own."""
    folder = tmp_path_factory.mktemp("server")
    process = subprocess.Popen([sys.executable, "-c", SERVER, str(folder)], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "APP_ENV": "development"})
    try:
        port = int(process.stdout.readline())
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


def peak_growth_mb(pid: int, action) -> float:
    """How far the process's resident memory rose above where it was while `action` ran: the
    kernel's high-water mark, reset first (clear_refs 5)."""
    before = status_kb(pid, "VmRSS")
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    action()
    return (status_kb(pid, "VmHWM") - before) / 1024


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
def test_a_64_mb_body_is_refused_without_the_memory_growing(server, path, chunked):
    url, pid = server
    flood(url, path, chunked=chunked, size=MB)  # warm up: the first request imports and connects
    answers = []
    growth = peak_growth_mb(pid, lambda: answers.append(flood(url, path, chunked=chunked)))
    assert growth < 4, f"the server's memory grew {growth:.1f} MB while answering {answers} to 64 MB"
    assert answers == [413]
