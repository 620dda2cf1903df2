"""A fake of the parts of LinkedIn's REST API the shipped n8n workflow calls, for scripts/n8n-e2e.sh.

    python scripts/fake_linkedin.py --port 8765 [--token TOKEN]

- POST /rest/posts                           201 + `x-restli-id: urn:li:share:<n>`; checks the bearer
                                             token, `LinkedIn-Version`, `X-Restli-Protocol-Version: 2.0.0`
                                             and the body; the same text twice by one author -> 422
                                             DUPLICATE_POST; text containing FAKE-429 -> 429,
                                             FAKE-500 -> 500 (nothing recorded)
- POST /rest/images?action=initializeUpload  {value: {uploadUrl, image}}
- PUT  /upload/<n>                           201 (the image bytes are recorded)
- GET  /image.png                            a tiny PNG, for posts with an image URL
- GET  /_calls                               JSON: every post created, image uploads, and refusals
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


class State:
    def __init__(self, token: str | None):
        self.token = token
        self.lock = threading.Lock()
        self.ids = itertools.count(7_000_000_000_000_000_001)
        self.posts: list[dict] = []
        self.uploads: dict[str, int] = {}
        self.refusals: list[dict] = []


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
            if self.path == "/_calls":
                with state.lock:
                    return self.answer(200, {"posts": state.posts, "uploads": state.uploads,
                                             "refusals": state.refusals})
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
            if dup:
                return self.refuse(422, "Content is a duplicate of an existing post (DUPLICATE_POST)", "DUPLICATE_POST")
            self.answer(201, None, {"x-restli-id": urn})

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token", help="the only bearer token accepted (default: any)")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler(State(args.token)))
    print(f"fake LinkedIn on http://127.0.0.1:{args.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
