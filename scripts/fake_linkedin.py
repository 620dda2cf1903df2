"""A fake of the parts of LinkedIn's REST API the shipped n8n workflow calls, for scripts/n8n-e2e.sh.

    python scripts/fake_linkedin.py --port 8765 [--token TOKEN] [--member-id ID] [--member-name NAME]
                                    [--post-delay-ms MS]

Every endpoint checks the bearer token: with --token only that one is accepted; a token starting with
REVOKED is refused with 401 REVOKED_ACCESS_TOKEN, as LinkedIn does once the member revoked the app.

- POST /rest/posts                           201 + `x-restli-id: urn:li:share:<n>` (after --post-delay-ms,
                                             LinkedIn's own time to answer); checks the bearer
                                             token, `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0`
                                             and the body; the same text twice by one author -> 422
                                             DUPLICATE_POST; text containing FAKE-429 -> 429,
                                             FAKE-500 -> 500 (nothing recorded)
- POST /rest/images?action=initializeUpload  {value: {uploadUrl, image}}
- PUT  /upload/<n>                           201 (the image bytes are recorded)
- GET  /v2/userinfo                          OpenID userinfo: {sub, name, given_name, family_name,
                                             picture} of the member (the token check of a dry run)
- GET  /image.png                            a tiny PNG, for posts with an image URL
- GET  /_calls                               JSON: every post created, image uploads, userinfo reads,
                                             proxied requests and refusals

It is also a plain HTTP proxy (the e2e script starts n8n with HTTP_PROXY pointing here), so an image
URL on a public-looking name such as http://images.example.com/photo.png reaches it without any DNS,
and any download n8n attempts of another host is recorded instead of leaving the machine:
- GET  http://<host>/<name>.png              the tiny PNG (missing*.png -> 404); <name>.html -> a small
                                             HTML page; anything else -> 404; redirect.png -> 302 to
                                             169.254.169.254; drop.png -> the connection is closed
                                             unanswered; slow.png -> the PNG after 20 s
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class State:
    def __init__(self, token: str | None, member_id: str = "E2eAda42", member_name: str = "Ada Lovelace",
                 post_delay: float = 0.0):
        self.post_delay = post_delay
        self.token = token
        self.member_id = member_id
        self.member_name = member_name
        self.lock = threading.Lock()
        self.ids = itertools.count(7_000_000_000_000_000_001)
        self.posts: list[dict] = []
        self.uploads: dict[str, int] = {}
        self.refusals: list[dict] = []
        self.userinfo: list[str] = []  # "ok" or "refused", one per GET /v2/userinfo
        self.proxied: list[str] = []   # absolute URLs asked through the proxy


def handler(state: State):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def answer(self, status: int, body=None, headers: dict | None = None, raw: bytes | None = None,
                   content_type: str = "application/json"):
            data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def read_body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def refuse(self, status: int, message: str, code: str | None = None, **headers):
            with state.lock:
                state.refusals.append({"path": self.path, "status": status, "message": message})
            body = {"status": status, "message": message}
            if code:
                body["code"] = code
            self.answer(status, body, headers)

        def authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Bearer REVOKED"):
                self.refuse(401, "The token used in the request has been revoked by the user", "REVOKED_ACCESS_TOKEN")
                return False
            if not auth.startswith("Bearer ") or (state.token and auth != f"Bearer {state.token}"):
                self.refuse(401, "Invalid access token", "INVALID_ACCESS_TOKEN")
                return False
            return True

        def versioned(self) -> bool:
            if not (self.headers.get("LinkedIn-Version", "").isdigit()
                    and self.headers.get("X-Restli-Protocol-Version") == "2.0.0"):
                self.refuse(400, "LinkedIn-Version (YYYYMM) and X-Restli-Protocol-Version: 2.0.0 are required")
                return False
            return True

        def do_GET(self):
            if self.path.startswith(("http://", "https://")):  # a proxied download
                with state.lock:
                    state.proxied.append(self.path)
                name = self.path.split("?")[0].rsplit("/", 1)[-1]
                if name == "redirect.png":  # a public URL that leads inside: must not be followed
                    return self.answer(302, None, {"Location": "http://169.254.169.254/latest/meta-data/"})
                if name == "drop.png":  # the connection closes without an answer
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return None
                if name == "slow.png":  # answers after the workflow's 15 s download timeout
                    time.sleep(20)
                    return self.answer(200, raw=PNG, content_type="image/png")
                if name.endswith(".png") and not name.startswith("missing"):
                    return self.answer(200, raw=PNG, content_type="image/png")
                if name.endswith(".html"):
                    return self.answer(200, raw=b"<!doctype html><title>not an image</title>", content_type="text/html")
                return self.refuse(404, "No such file")
            if self.path == "/_calls":
                with state.lock:
                    return self.answer(200, {"posts": state.posts, "uploads": state.uploads,
                                             "userinfo": state.userinfo, "proxied": state.proxied,
                                             "refusals": state.refusals})
            if self.path == "/v2/userinfo":
                if not self.authorized():
                    with state.lock:
                        state.userinfo.append("refused")
                    return
                with state.lock:
                    state.userinfo.append("ok")
                given, _, family = state.member_name.partition(" ")
                return self.answer(200, {"sub": state.member_id, "name": state.member_name, "given_name": given,
                                         "family_name": family, "locale": {"country": "DE", "language": "en"},
                                         "picture": "https://media.licdn.com/dms/image/fake/profile.jpg"})
            if self.path.startswith("/image.png"):
                return self.answer(200, raw=PNG, content_type="image/png")
            self.refuse(404, f"No route {self.path}")

        def do_PUT(self):
            data = self.read_body()
            if not self.path.startswith("/upload/"):
                return self.refuse(404, f"No route {self.path}")
            if not self.authorized():
                return
            with state.lock:
                state.uploads[self.path.rsplit("/", 1)[-1]] = len(data)
            self.answer(201)

        def do_POST(self):
            raw = self.read_body()
            if not (self.authorized() and self.versioned()):
                return
            try:
                body = json.loads(raw)
            except ValueError:
                return self.refuse(400, "Body is not JSON")
            if self.path == "/rest/images?action=initializeUpload":
                n = next(state.ids)
                host = self.headers.get("Host")
                return self.answer(200, {"value": {"uploadUrl": f"http://{host}/upload/{n}",
                                                   "image": f"urn:li:image:{n}",
                                                   "uploadUrlExpiresAt": 0}})
            if self.path != "/rest/posts":
                return self.refuse(404, f"No route {self.path}")
            missing = [f for f in ("author", "commentary", "visibility", "distribution", "lifecycleState")
                       if f not in body]
            if missing:
                return self.refuse(422, f"Missing fields {missing}")
            text = body["commentary"]
            if "FAKE-429" in text:
                return self.refuse(429, "Too many requests for this member today", "THROTTLED", **{"Retry-After": "7"})
            if "FAKE-500" in text:
                return self.refuse(500, "Internal error")
            with state.lock:
                if any(p["author"] == body["author"] and p["commentary"] == text for p in state.posts):
                    dup = True
                else:
                    dup = False
                    urn = f"urn:li:share:{next(state.ids)}"
                    state.posts.append({"urn": urn, "author": body["author"], "commentary": text,
                                        "content": body.get("content"),
                                        "linkedinVersion": self.headers.get("LinkedIn-Version")})
            if state.post_delay:
                time.sleep(state.post_delay)
            if dup:
                return self.refuse(422, "Content is a duplicate of an existing post (DUPLICATE_POST)", "DUPLICATE_POST")
            self.answer(201, None, {"x-restli-id": urn})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", help="the only bearer token accepted (default: any)")
    parser.add_argument("--member-id", default="E2eAda42", help="the member's id, userinfo's `sub`")
    parser.add_argument("--member-name", default="Ada Lovelace", help="the member's name in userinfo")
    parser.add_argument("--post-delay-ms", type=float, default=0.0, help="time LinkedIn takes to create a post")
    args = parser.parse_args()
    state = State(args.token, args.member_id, args.member_name, args.post_delay_ms / 1000)
    ThreadingHTTPServer.request_queue_size = 128  # many n8n calls at once must not overflow the backlog
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(state))
    print(f"fake LinkedIn on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
