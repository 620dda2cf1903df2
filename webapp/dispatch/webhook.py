"""The n8n webhook client: one POST per try, explicit timeouts, no hidden retries or redirects."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from ..config import CONNECT_TIMEOUT
from .retry import SendResult

MAX_DETAIL = 300
#: A kept-alive connection idle longer than this is not reused. Servers close idle connections
#: (Node, so n8n: after 5 s); reusing one at that moment makes the request fail with "connection
#: closed" although n8n never read it — which we would have to report as unconfirmed.
MAX_IDLE_REUSE = 2.0


def _never_reached(exc: BaseException) -> bool:
    """True when the request provably never reached the server (no bytes of it were sent)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    seen, todo = set(), [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, NameResolutionError, ConnectTimeoutError)):
            return True
        todo.extend([getattr(current, "reason", None), current.__cause__, current.__context__,
                     *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]])
    return False


def _retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, from delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


def _detail(response: requests.Response) -> str:
    """n8n's own message when the body has one, else the start of the body."""
    text = response.text or ""
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error", "errorMessage", "detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                text = body[key]
                break
    text = " ".join(text.split())
    return text[:MAX_DETAIL] + ("…" if len(text) > MAX_DETAIL else "")


def _urn(response: requests.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    urn = body.get("linkedinPostUrn") or body.get("urn")
    return urn if isinstance(urn, str) and 0 < len(urn) <= 255 else None


def _transport_detail(exc: BaseException, read_timeout: float) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"connect timeout after {CONNECT_TIMEOUT:g} s"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"no answer within {read_timeout:g} s"
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema)):
        return "the webhook URL is not valid; check N8N_WEBHOOK_URL"
    name = type(exc).__name__
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text:
        return "the n8n host name could not be resolved"
    if "Connection refused" in text:
        return "connection refused"
    if "RemoteDisconnected" in text or "Connection aborted" in text or "reset by peer" in text:
        return "the connection was closed before n8n answered"
    return name


class _QuickAck:
    """Ask the kernel to ACK at once while we wait for the webhook's answer (Linux TCP_QUICKACK).

    On a kept-alive connection Linux delays ACKs (up to 40 ms). A server with Nagle's algorithm
    on that writes its status line and its body separately — Python's http.server does — then
    holds the body until that ACK comes: every send took ~46 ms instead of ~4 ms against such a
    receiver (bench/lateness.py). The option is one-shot, so it is set after the request has gone
    out, just before the answer is read. n8n (Node) sets TCP_NODELAY and is not affected."""

    def getresponse(self):
        if hasattr(socket, "TCP_QUICKACK") and self.sock is not None:
            try:
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            except OSError:
                pass
        return super().getresponse()


class _QuickAckHTTPConnection(_QuickAck, HTTPConnection):
    pass


class _QuickAckHTTPSConnection(_QuickAck, HTTPSConnection):
    pass


class _QuickAckHTTPPool(HTTPConnectionPool):
    ConnectionCls = _QuickAckHTTPConnection


class _QuickAckHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _QuickAckHTTPSConnection


class _WebhookAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _QuickAckHTTPPool, "https": _QuickAckHTTPSPool}


class WebhookClient:
    """POSTs a post to the webhook. One requests.Session per sending thread (sessions are not
    shared across threads); keep-alive connections are reused within a thread."""

    def __init__(self, url: str, *, auth_header: str | None = None, secret: str | None = None,
                 read_timeout: float = 30.0, connect_timeout: float = CONNECT_TIMEOUT):
        self.url = url
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        self._headers = {"Content-Type": "application/json", "User-Agent": "Punctual/1"}
        if auth_header and secret:
            self._headers[auth_header] = secret
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        now = time.monotonic()
        if session is not None and now - self._local.used_at > MAX_IDLE_REUSE:
            session.close()  # drop idle keep-alive connections; the next call opens a fresh one
            session = None
        self._local.used_at = now
        if session is None:
            session = requests.Session()
            # Read proxy and CA settings from the environment once, not on every call (requests
            # re-scans os.environ per request when trust_env is on: ~1 ms of CPU per send).
            session.proxies.update(requests.utils.get_environ_proxies(self.url))
            session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            session.trust_env = False
            adapter = _WebhookAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            self._local.session = session
        return session

    def send(self, payload: dict, idempotency_key: str) -> SendResult:
        headers = {**self._headers, "Idempotency-Key": idempotency_key}
        try:
            response = self._session().post(
                self.url, data=json.dumps(payload), headers=headers,
                timeout=(self.connect_timeout, self.read_timeout), allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            detail = _transport_detail(exc, self.read_timeout)
            if _never_reached(exc) or isinstance(exc, (requests.exceptions.InvalidURL,
                                                       requests.exceptions.MissingSchema,
                                                       requests.exceptions.InvalidSchema)):
                return SendResult.not_sent(detail)
            return SendResult.no_answer(detail)
        with response:
            if 200 <= response.status_code < 300:
                return SendResult.answered(response.status_code, urn=_urn(response))
            return SendResult.answered(response.status_code, _detail(response),
                                       _retry_after(response.headers.get("Retry-After")))
