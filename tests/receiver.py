"""A stand-in for the n8n webhook on loopback: records every arrival, answers as told."""

from __future__ import annotations

import json
import ssl
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
    path: str = ""  # the request target as sent (an absolute URL when it came through a proxy)
    peer: tuple = ()  # the client's (address, port): one per connection
    method: str = "POST"


@dataclass
class Answer:
    status: int = 200
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: float = 0.0  # sleep this long before answering (beyond the client's timeout)
    drop: bool = False  # close the connection without answering
    dribble: float = 0.0  # send the answer one byte at a time, this many seconds apart


class _Server(ThreadingHTTPServer):
    #: Like n8n (Node's backlog is 511): the stock 5 drops connections under a burst of senders.
    request_queue_size = 128

    def handle_error(self, request, client_address):
        """A client that hangs up mid-request (timeouts, deadlines, tests) is not news."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Receiver:
    """`with Receiver() as r:` → r.url; r.arrivals; r.answer = Answer(...) or a function(arrival) -> Answer."""

    def __init__(self, *, tls: tuple[str, str] | None = None):
        """`tls`: (certificate file, key file) to serve HTTPS instead of HTTP."""
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
                arrival = Arrival(t, self.headers.get("Idempotency-Key"), body, dict(self.headers), self.path,
                                  tuple(self.client_address))
                answer = self._arrive(arrival)
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
                if answer.dribble:
                    self._dribble(answer, data)
                    return
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

            def do_CONNECT(self):
                """Play an HTTPS proxy that refuses every tunnel with the answer's status."""
                answer = self._arrive(Arrival(time.time(), None, {}, dict(self.headers), self.path,
                                              tuple(self.client_address), "CONNECT"))
                self.send_response(answer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _arrive(self, arrival: Arrival) -> Answer:
                with receiver._arrived:
                    receiver.arrivals.append(arrival)
                    receiver._arrived.notify_all()
                return receiver.answer(arrival) if callable(receiver.answer) else receiver.answer

            def _dribble(self, answer: Answer, data: bytes):
                """A whole, valid answer, one byte at a time: each read is quick, the answer never ends in time."""
                head = (f"HTTP/1.1 {answer.status} OK\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(data)}\r\n\r\n").encode()
                self.close_connection = True
                try:
                    for i in range(len(head + data)):
                        self.wfile.write((head + data)[i:i + 1])
                        self.wfile.flush()
                        time.sleep(answer.dribble)
                except OSError:
                    pass  # the client hung up

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/webhook"
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
