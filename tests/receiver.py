"""A stand-in for the n8n webhook on loopback: records every arrival, answers as told."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Arrival:
    t: float  # epoch seconds when the request arrived
    key: str | None
    body: dict
    headers: dict


@dataclass
class Answer:
    status: int = 200
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: float = 0.0  # sleep this long before answering (beyond the client's timeout)
    drop: bool = False  # close the connection without answering


class Receiver:
    """`with Receiver() as r:` → r.url; r.arrivals; r.answer = Answer(...) or a function(arrival) -> Answer."""

    def __init__(self):
        self.arrivals: list[Arrival] = []
        self.answer: Answer | Callable[[Arrival], Answer] = Answer()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                t = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                arrival = Arrival(t, self.headers.get("Idempotency-Key"), body, dict(self.headers))
                with receiver._arrived:
                    receiver.arrivals.append(arrival)
                    receiver._arrived.notify_all()
                answer = receiver.answer(arrival) if callable(receiver.answer) else receiver.answer
                if answer.drop:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if answer.hang:
                    time.sleep(answer.hang)
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body
                if payload is None:
                    payload = {"ok": True}
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        """Block until `count` requests arrived (or the timeout ran out); return the arrivals."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.arrivals)

    def keys(self) -> list[str | None]:
        with self._lock:
            return [a.key for a in self.arrivals]
