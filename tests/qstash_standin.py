"""A protocol-faithful QStash stand-in on loopback, for tests (never shipped in webapp/).

It follows QStash's documentation (Upstash's docs and the qstash-py 3.x SDK): publish with Upstash-
Not-Before / -Delay / -Retries /
-Deduplication-Id (202 with the existing id on a duplicate) / -Timeout / -Forward-*; cancel with
DELETE /v2/messages/<id> (404 when unknown or delivered); schedules (create-or-update by
Upstash-Schedule-Id, list, show, delete); and delivery at not-before with a real HS256
Upstash-Signature (iss, sub, iat, nbf, exp, jti, body), Upstash-Message-Id and Upstash-Retried,
retrying non-2xx answers with QStash's backoff (scaled down for tests), honouring Retry-After and
stopping on 489 + Upstash-NonRetryable-Error. The real `qstash` SDK talks to it via base_url.

Knobs (attributes, change them any time): `duplicate` (deliver every message twice, at once),
`late` / `early` (seconds after / before not-before), `drop` (accept, never deliver), `paused`
plus `reverse` (hold deliveries; then deliver what is due newest first: out of order),
`fail_publish` / `fail_cancel` (answer with that HTTP status), `publish_delay` (hang before
answering a publish), `deliver_cancelled` (a cancel succeeds but the message was already in
flight and still arrives), `sign_with` ("current" or "next"), `parallel` (messages due together are
delivered in order by one thread when 1, the default; up to this many at once otherwise, as QStash
does without flow control: for benchmarks).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import requests

TOKEN = "qstash-standin-token-not-a-real-secret"
#: 32-character keys, like QStash's (`sig_` + 28): PyJWT warns about shorter HMAC keys.
CURRENT_KEY = "sig_standinCurrentKey0123456789ab"
NEXT_KEY = "sig_standinNextKey0123456789abcdef"
SIGNATURE_LIFETIME = 300  # seconds, QStash's default

_DURATION = re.compile(r"(\d+)([smhd])")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int:
    """`10s`, `5m`, `1d10h30m` -> seconds (Upstash-Delay, Upstash-Timeout)."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        raise ValueError(text)
    return sum(int(n) * _UNIT[u] for n, u in parts)


def body_hash(body: bytes) -> str:
    """base64url(SHA-256(body)), with the padding the docs' example keeps."""
    return base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode()


def sign(body: bytes, url: str, key: str = CURRENT_KEY, /, *, now: float | None = None, **claims) -> str:
    """An Upstash-Signature JWT for `body` delivered to `url`; `claims` override the defaults."""
    now = int(time.time() if now is None else now)
    payload = {"iss": "Upstash", "sub": url, "iat": now, "nbf": now, "exp": now + SIGNATURE_LIFETIME,
               "jti": f"jwt_{uuid.uuid4().hex}", "body": body_hash(body)}
    payload.update(claims)
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, key, algorithm="HS256")


@dataclass
class Message:
    id: str
    destination: str
    body: bytes
    headers: dict  # delivered as they are: Content-Type and the forwarded ones
    not_before: float
    retries: int
    timeout: float
    seq: int
    dedup_id: str | None = None
    schedule_id: str | None = None
    state: str = "pending"  # pending, in_flight, delivered, cancelled, failed (DLQ)
    retried: int = 0
    next_at: float = 0.0
    in_flight_when_cancelled: bool = False


@dataclass
class Delivery:
    message_id: str
    t: float
    retried: int
    status: int | None  # None: no answer (connection refused, timeout)
    retry_after: str | None = None
    headers: dict = field(default_factory=dict)


@dataclass
class Schedule:
    id: str
    destination: str
    cron: str
    retries: int
    timeout: float | None
    body: bytes
    headers: dict
    created_at: int  # unix ms
    last_run: int | None = None


class QStashStandIn:
    """`with QStashStandIn() as q:` -> q.url for QSTASH_URL; q.messages, q.deliveries, q.cancels."""

    def __init__(self, *, token: str = TOKEN, current_key: str = CURRENT_KEY, next_key: str = NEXT_KEY,
                 clock: Callable[[], float] = time.time, backoff_scale: float = 0.002,
                 max_delay: float = 7 * 86400):
        self.token, self.current_key, self.next_key = token, current_key, next_key
        self.clock = clock
        self.backoff_scale = backoff_scale
        self.max_delay = max_delay
        # knobs
        self.duplicate = False
        self.late = 0.0
        self.early = 0.0
        self.drop = False
        self.paused = False
        self.reverse = False
        self.fail_publish: int | None = None
        self.fail_cancel: int | None = None
        self.publish_delay = 0.0
        self.deliver_cancelled = False
        self.sign_with = "current"
        self.parallel = 1
        # records
        self.messages: dict[str, Message] = {}
        self.publishes: list[dict] = []  # every publish request: headers and outcome
        self.deliveries: list[Delivery] = []
        self.cancels: list[tuple[str, int]] = []  # (message id, status answered)
        self.schedules: dict[str, Schedule] = {}
        self._dedup: dict[str, str] = {}
        self._seq = itertools.count(1)
        self._lock = threading.Condition()
        self._stop = threading.Event()
        self._session = requests.Session()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._threads = [threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True),
                         threading.Thread(target=self._deliver_loop, daemon=True)]

    def __enter__(self) -> QStashStandIn:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        self.server.shutdown()
        self.server.server_close()
        self._session.close()

    # ------------------------------------------------------------------ for tests

    def pending(self) -> list[Message]:
        with self._lock:
            return [m for m in self.messages.values() if m.state == "pending"]

    def message_for(self, post_id: str, version: int) -> Message | None:
        """The message whose body is {postId: post_id, version: version}, if one was published."""
        with self._lock:
            for m in self.messages.values():
                body = json.loads(m.body or b"null")
                if isinstance(body, dict) and (body.get("postId"), body.get("version")) == (post_id, version):
                    return m
        return None

    def deliveries_of(self, message_id: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.message_id == message_id]

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 0.05))
            return True

    def wake(self) -> None:
        """Re-check what is due now (after changing a knob such as `paused`)."""
        with self._lock:
            self._lock.notify_all()

    def fire(self, schedule_id: str) -> Message:
        """Run a schedule once now (the stand-in does not keep a cron clock of its own)."""
        with self._lock:
            s = self.schedules[schedule_id]
            s.last_run = int(self.clock() * 1000)
            message = self._new_message(destination=s.destination, body=s.body, headers=dict(s.headers),
                                        not_before=self.clock(), retries=s.retries,
                                        timeout=s.timeout or 30.0, schedule_id=s.id)
            self._lock.notify_all()
            return message

    # ------------------------------------------------------------------ the API

    def _handler_class(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, payload: object = None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting (publish_delay beyond its timeout)

            def _route(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Authorization") != f"Bearer {standin.token}":
                    return self._answer(401, {"error": "Unauthorized"})
                status, payload = standin._api(method, self.path, dict(self.headers), body)
                self._answer(status, payload)

            def do_POST(self):
                self._route("POST")

            def do_GET(self):
                self._route("GET")

            def do_DELETE(self):
                self._route("DELETE")

        return Handler

    def _api(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, object]:
        h = {k.lower(): v for k, v in headers.items()}
        if method == "POST" and path.startswith("/v2/publish/"):
            return self._publish(path[len("/v2/publish/"):], h, headers, body)
        if method == "DELETE" and path.startswith("/v2/messages/"):
            return self._cancel(path[len("/v2/messages/"):])
        if method == "POST" and path.startswith("/v2/schedules/"):
            return self._create_schedule(path[len("/v2/schedules/"):], h, headers, body)
        if method == "GET" and path == "/v2/schedules":
            with self._lock:
                return 200, [self._schedule_json(s) for s in self.schedules.values()]
        if method in ("GET", "DELETE") and path.startswith("/v2/schedules/"):
            schedule_id = path[len("/v2/schedules/"):]
            with self._lock:
                if schedule_id not in self.schedules:
                    return 404, {"error": f"schedule {schedule_id} not found"}
                if method == "DELETE":
                    del self.schedules[schedule_id]
                    return 200, None
                return 200, self._schedule_json(self.schedules[schedule_id])
        return 404, {"error": f"no route for {method} {path}"}

    @staticmethod
    def _forwarded(headers: dict) -> dict:
        forwarded = {k[len("upstash-forward-"):]: v for k, v in headers.items()
                     if k.lower().startswith("upstash-forward-")}
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        return {**({"Content-Type": content_type} if content_type else {}), **forwarded}

    def _publish(self, destination: str, h: dict, headers: dict, body: bytes) -> tuple[int, object]:
        record = {"destination": destination, "headers": h, "body": body}
        with self._lock:
            self.publishes.append(record)
        if self.publish_delay:
            time.sleep(self.publish_delay)
        if self.fail_publish:
            record["status"] = self.fail_publish
            return self.fail_publish, {"error": "the stand-in was told to fail publishes"}
        if not destination.startswith(("http://", "https://")):
            return 400, {"error": f"invalid destination url: {destination}"}
        now = self.clock()
        try:
            if "upstash-not-before" in h:
                not_before = float(int(h["upstash-not-before"]))
            elif "upstash-delay" in h:
                not_before = now + parse_duration(h["upstash-delay"])
            else:
                not_before = now
            retries = int(h.get("upstash-retries", 3))
            timeout = parse_duration(h["upstash-timeout"]) if "upstash-timeout" in h else 30.0
        except ValueError as exc:
            return 400, {"error": f"invalid header value: {exc}"}
        if not_before - now > self.max_delay:
            return 400, {"error": f"delay exceeds the maximum of {self.max_delay:g} s for this plan"}
        with self._lock:
            dedup_id = h.get("upstash-deduplication-id")
            if dedup_id and dedup_id in self._dedup:
                record["status"] = 202
                return 202, {"messageId": self._dedup[dedup_id], "deduplicated": True}
            message = self._new_message(destination=destination, body=body, headers=self._forwarded(headers),
                                        not_before=not_before, retries=retries, timeout=timeout)
            message.dedup_id = dedup_id
            if dedup_id:
                self._dedup[dedup_id] = message.id
            record["status"] = 200
            self._lock.notify_all()
        return 200, {"messageId": message.id, "deduplicated": False}

    def _new_message(self, **fields) -> Message:
        message = Message(id=f"msg_{uuid.uuid4().hex}", seq=next(self._seq), **fields)
        message.next_at = message.not_before
        self.messages[message.id] = message
        return message

    def _cancel(self, message_id: str) -> tuple[int, object]:
        with self._lock:
            message = self.messages.get(message_id)
            if self.fail_cancel:
                status, payload = self.fail_cancel, {"error": "the stand-in was told to fail cancels"}
            elif message is None or message.state not in ("pending", "in_flight"):
                status, payload = 404, {"error": f"message {message_id} not found"}
            else:
                status, payload = 200, None
                if self.deliver_cancelled or message.state == "in_flight":
                    message.in_flight_when_cancelled = True  # it arrives anyway, once
                else:
                    message.state = "cancelled"
            self.cancels.append((message_id, status))
        return status, payload

    def _create_schedule(self, destination: str, h: dict, headers: dict, body: bytes) -> tuple[int, object]:
        cron = h.get("upstash-cron", "")
        fields = cron.split()
        if fields and fields[0].startswith("CRON_TZ="):
            fields = fields[1:]
        if len(fields) != 5 or not all(re.fullmatch(r"[\d*/,\-]+", f) for f in fields):
            return 400, {"error": f"invalid cron expression: {cron!r}"}
        if not destination.startswith(("http://", "https://")):
            return 400, {"error": f"invalid destination url: {destination}"}
        schedule_id = h.get("upstash-schedule-id") or f"scd_{uuid.uuid4().hex}"
        with self._lock:
            existing = self.schedules.get(schedule_id)
            self.schedules[schedule_id] = Schedule(
                id=schedule_id, destination=destination, cron=cron, retries=int(h.get("upstash-retries", 3)),
                timeout=parse_duration(h["upstash-timeout"]) if "upstash-timeout" in h else None,
                body=body, headers=self._forwarded(headers),
                created_at=existing.created_at if existing else int(self.clock() * 1000),
                last_run=existing.last_run if existing else None)
        return 200, {"scheduleId": schedule_id}

    @staticmethod
    def _schedule_json(s: Schedule) -> dict:
        data = {"scheduleId": s.id, "destination": s.destination, "cron": s.cron, "createdAt": s.created_at,
                "method": "POST", "retries": s.retries, "isPaused": False}
        if s.timeout is not None:
            data["timeout"] = int(s.timeout)
        if s.last_run is not None:
            data["lastScheduleTime"] = s.last_run
        return data

    # ------------------------------------------------------------------ delivery

    def backoff(self, retried: int) -> float:
        """QStash's documented backoff min(86400, e^(2.5 n)) s, scaled down for tests."""
        return min(86400.0, math.exp(2.5 * retried)) * self.backoff_scale

    def _due(self, now: float) -> list[Message]:
        due = [m for m in self.messages.values() if m.state == "pending"
               and m.next_at + (self.late - self.early if m.retried == 0 else 0) <= now]
        return sorted(due, key=lambda m: m.seq, reverse=self.reverse)

    def _deliver_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                due = [] if self.paused or self.drop else self._due(self.clock())
                for m in due:
                    m.state = "in_flight"
                if not due:
                    self._lock.wait(0.005)
                    continue
            # one thread delivers this batch in order (or `parallel` at once); a duplicate goes out concurrently
            if self.parallel > 1:
                slots = threading.BoundedSemaphore(self.parallel)
                for m in due:
                    threading.Thread(target=self._deliver_in_slot, args=(m, slots), daemon=True).start()
            else:
                threading.Thread(target=self._deliver_all, args=(due,), daemon=True).start()
            if self.duplicate:
                for m in due:
                    threading.Thread(target=self._attempt, args=(m, False), daemon=True).start()

    def _deliver_all(self, messages: list[Message]) -> None:
        for m in messages:
            self._attempt(m, True)

    def _deliver_in_slot(self, m: Message, slots: threading.BoundedSemaphore) -> None:
        with slots:
            self._attempt(m, True)

    def _attempt(self, m: Message, owner: bool) -> None:
        """One delivery; `owner` decides what happens to the message afterwards (a duplicate does not)."""
        key = self.next_key if self.sign_with == "next" else self.current_key
        headers = {**m.headers, "Upstash-Signature": sign(m.body, m.destination, key, now=self.clock()),
                   "Upstash-Message-Id": m.id, "Upstash-Retried": str(m.retried),
                   "User-Agent": "Upstash-QStash"}
        if m.schedule_id:
            headers["Upstash-Schedule-Id"] = m.schedule_id
        status, retry_after, nonretryable = None, None, None
        try:
            response = requests.post(m.destination, data=m.body, headers=headers, timeout=m.timeout,
                                     allow_redirects=False)
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
            nonretryable = response.headers.get("Upstash-NonRetryable-Error")
        except requests.RequestException:
            pass
        with self._lock:
            self.deliveries.append(Delivery(m.id, self.clock(), m.retried, status, retry_after, headers))
            if owner:
                self._after(m, status, retry_after, nonretryable)
            self._lock.notify_all()

    def _after(self, m: Message, status: int | None, retry_after: str | None, nonretryable: str | None) -> None:
        if status is not None and 200 <= status < 300:
            m.state = "delivered"
        elif m.in_flight_when_cancelled:
            m.state = "cancelled"
        elif status == 489 and (nonretryable or "").lower() == "true":
            m.state = "failed"
        elif m.retried < m.retries:
            m.retried += 1
            delay = float(retry_after) if retry_after and retry_after.isdigit() else self.backoff(m.retried)
            m.next_at = self.clock() + delay
            m.state = "pending"
        else:
            m.state = "failed"  # to the DLQ
