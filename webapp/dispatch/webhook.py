"""The n8n webhook client: one POST per try, one wall-clock deadline per call, no hidden retries
or redirects.

**The deadline.** Every call must end within `deadline` seconds of its start (the 5 s connect
timeout plus N8N_TIMEOUT): resolving the host, connecting, the TLS handshake, sending the request
and reading the *whole* answer. A read timeout alone does not bound a call — it applies to each
read, so a server that dribbles its answer one byte at a time held a call for 19.5 s with
N8N_TIMEOUT=1 — and the dispatcher's lease is only safe if every call is bounded. So:

- the host is resolved on a helper thread that the sender waits for only until the deadline
  (`getaddrinfo` itself cannot be interrupted);
- one reaper thread watches every call in flight and, at its deadline, shuts the call's socket
  down, which ends whatever the sender is blocked in, at once.

**What a failure means** (retry.py decides what to do with it): a call that provably never reached
n8n — a name that does not resolve, a refused or timed-out connection, a failed TLS handshake, the
deadline passing before a byte of the request left — is `not_sent`; once the request has started
to leave, a missing or incomplete answer is `no_answer` (n8n may have published).

Written on a plain socket (the request, and the HTTP/1.1 answer, parsed by `_Connection`)
rather than with `requests` or http.client: it is what this needs to own the socket, and it costs
a fraction of their CPU per call (see docs/benchmarks.md).
"""

from __future__ import annotations

import base64
import heapq
import http.client
import ipaddress
import itertools
import json
import os
import socket
import ssl
import threading
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

# proxy_bypass_environment is undocumented, so typeshed lacks it; it is the NO_PROXY rule alone
# (urllib's documented proxy_bypass also asks macOS's and Windows's system settings).
from urllib.request import getproxies_environment, proxy_bypass_environment  # type: ignore[attr-defined]

from ..config import CONNECT_TIMEOUT
from .retry import SendResult

#: One entry of socket.getaddrinfo's answer: (family, type, proto, canonname, sockaddr).
_AddressInfo = tuple[Any, ...]

MAX_DETAIL = 300
#: The header that marks the pipeline check's call as a dry run (nothing is posted).
DRY_RUN_HEADER = "X-Punctual-Dry-Run"
#: Bytes of an answer that are read; n8n's useful answers are tiny. A longer body is not read
#: further (its connection is closed), so a misbehaving server cannot fill the memory.
MAX_ANSWER = 64 * 1024
#: A kept-alive connection idle longer than this is not reused. Servers close idle connections
#: (Node, so n8n: after 5 s); reusing one at that moment makes the request fail with "connection
#: closed" although n8n never read it — which we would have to report as unconfirmed.
MAX_IDLE_REUSE = 2.0
#: Retry-After values beyond this many seconds are read as this (the policy caps them far lower).
MAX_RETRY_AFTER = 10**9


# ---------------------------------------------------------------------- the deadline


class _Overrun(Exception):
    """The call's deadline passed."""


class _Call:
    """One call's deadline, and the socket through which the reaper ends it."""

    __slots__ = ("deadline", "sock", "expired", "done", "_lock")

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.expired = False
        self.done = False
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def attach(self, sock: socket.socket) -> None:
        """From now on, the deadline ends the call through `sock`."""
        with self._lock:
            if self.expired:
                raise _Overrun()
            self.sock = sock

    def expire(self) -> None:
        """The reaper's move: end the call now (a no-op once the sender has finished)."""
        with self._lock:
            if self.done:
                return
            self.expired = True
            if self.sock is not None:
                try:  # the plain socket's shutdown, also for an SSLSocket: it acts on the descriptor
                    socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
                except OSError:
                    pass

    def finish(self) -> bool:
        """The sender is done with the socket; True if the deadline ended the call first."""
        with self._lock:
            self.done = True
            return self.expired


class _Reaper:
    """One daemon thread that ends calls at their deadline (a heap of deadlines; finished calls
    are dropped when their time comes)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, _Call]] = []
        self._cond = threading.Condition()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None

    def watch(self, call: _Call) -> None:
        with self._cond:
            heapq.heappush(self._heap, (call.deadline, next(self._order), call))
            if self._thread is None or not self._thread.is_alive():  # also after a fork
                self._thread = threading.Thread(target=self._run, name="punctual-deadline", daemon=True)
                self._thread.start()
            elif self._heap[0][2] is call:
                self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while True:
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, _, call = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                call.expire()


_REAPER = _Reaper()


# ---------------------------------------------------------------------- where to connect


class _NotSent(Exception):
    """The request provably never reached n8n; the message says why."""


class _Target:
    """The webhook URL, split once: where to connect (n8n, or a proxy) and what to ask for."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
            raise ValueError(url)
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        self.host_header = parts.netloc.rpartition("@")[2]
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.connect_to = (self.host, self.port)
        self.proxy_headers: dict[str, str] = {}
        self.tunnel = False
        proxy = getproxies_environment().get(parts.scheme)
        if proxy and not proxy_bypass_environment(self.host):
            p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
            if not p.hostname:
                raise ValueError(proxy)
            self.connect_to = (p.hostname, p.port or 80)
            if p.username:
                pair = f"{unquote(p.username)}:{unquote(p.password or '')}".encode()
                self.proxy_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(pair).decode()
            if self.tls:
                self.tunnel = True  # CONNECT host:port, then TLS to n8n through it
            else:
                self.path = url  # a plain HTTP proxy is asked for the absolute URL


def _resolve(host: str, port: int, call: _Call, limit: float) -> list[_AddressInfo]:
    """getaddrinfo within `limit` seconds and the call's deadline (on a helper thread that we stop
    waiting for: a lookup cannot be interrupted). A name that does not resolve in time is "not sent"."""
    try:
        ipaddress.ip_address(host)
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except ValueError:
        pass
    answer: dict[str, object] = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            answer["addresses"] = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            answer["error"] = exc
        done.set()

    threading.Thread(target=lookup, name="punctual-dns", daemon=True).start()
    if not done.wait(max(0.0, min(limit, call.remaining()))):
        raise _NotSent(f"the n8n host name was not resolved within {limit:g} s")
    if "error" in answer:
        raise _NotSent("the n8n host name could not be resolved")
    return answer["addresses"]  # type: ignore[return-value]


def _tls_context() -> ssl.SSLContext:
    """Verify certificates against REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE / SSL_CERT_FILE when set,
    else certifi's bundle (what requests used), else the system's."""
    bundle = next((os.environ[name] for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")
                   if os.environ.get(name)), None)
    if bundle is None:
        try:
            import certifi

            bundle = certifi.where()
        except ImportError:
            bundle = None
    return ssl.create_default_context(cafile=bundle)


def _tcp_quickack(sock: socket.socket) -> None:
    """Ask the kernel to ACK at once while we wait for the answer (Linux TCP_QUICKACK).

    On a kept-alive connection Linux delays ACKs (up to 40 ms). A server with Nagle's algorithm
    on that writes its status line and its body separately — Python's http.server does — then
    holds the body until that ACK comes: every send took ~46 ms instead of ~4 ms against such a
    receiver (bench/lateness.py). The option is one-shot, so it is set after the request has gone
    out. n8n (Node) sets TCP_NODELAY and is not affected."""
    if hasattr(socket, "TCP_QUICKACK"):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        except OSError:
            pass


# ---------------------------------------------------------------------- answers


def _retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After in seconds, read as RFC 9110 says and browsers do: delta-seconds (ASCII digits
    only) or an HTTP date (a past date is 0). Anything else — "1.5", "-5", "²", garbage — is None,
    and the normal backoff applies. Never raises."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(min(int(value), MAX_RETRY_AFTER))
    try:
        when = parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return float(min(max(0.0, seconds), MAX_RETRY_AFTER))


def _detail(data: bytes) -> str:
    """n8n's own message when the body has one, else the start of the body."""
    text = data.decode("utf-8", "replace")
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


def _urn(data: bytes) -> str | None:
    try:
        body = json.loads(data)
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    urn = body.get("linkedinPostUrn") or body.get("urn")
    return urn if isinstance(urn, str) and 0 < len(urn) <= 255 else None


class _Closed(Exception):
    """The connection ended before the whole answer came."""


class _NotHTTP(Exception):
    """What came back is not an HTTP/1.x answer."""


def _closed_detail(exc: BaseException) -> str:
    if isinstance(exc, (_Closed, ConnectionError)):
        return "the connection was closed before n8n answered"
    if isinstance(exc, _NotHTTP):
        return "n8n's answer was not valid HTTP"
    return type(exc).__name__


#: Limits on an answer's head, as http.client has them.
MAX_LINE = 65536
MAX_HEADERS = 100


class _Connection:
    """One kept-alive HTTP/1.1 connection: the socket we opened, and a buffered reader on it.

    The exchange is written here rather than with http.client: one POST with a JSON body and a
    small answer is all there is, and http.client parses headers through the email package,
    which cost about a third of the CPU of a call."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def close(self) -> None:
        self.rfile.close()
        self.sock.close()

    def exchange(self, head: bytes, body: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """Send one request; return (status, headers, up to MAX_ANSWER bytes of body, whether the
        connection may be kept: the whole body was read and the server keeps it open)."""
        self.sock.sendall(head + body)
        _tcp_quickack(self.sock)
        while True:
            status, version, headers = self._head()
            if not 100 <= status < 200 or status == 101:
                break  # 1xx interim answers (100 Continue) are skipped
        if status in (204, 304):
            data, whole = b"", True
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            data, whole = self._chunked()
        elif "content-length" in headers:
            try:
                length = int(headers["content-length"])
            except ValueError:
                raise _NotHTTP() from None
            if length < 0:
                raise _NotHTTP()
            data = self._exactly(min(length, MAX_ANSWER))
            whole = length <= MAX_ANSWER
        else:  # the body ends when the server closes the connection
            data, whole = self.rfile.read(MAX_ANSWER), False
        keep = whole and version == "HTTP/1.1" and "close" not in headers.get("connection", "").lower()
        return status, headers, data, keep

    def _line(self) -> bytes:
        line = self.rfile.readline(MAX_LINE + 1)
        if not line:
            raise _Closed()
        if len(line) > MAX_LINE:
            raise _NotHTTP()
        return line

    def _head(self) -> tuple[int, str, dict[str, str]]:
        version, _, rest = self._line().decode("latin-1").partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not (code.isascii() and code.isdigit()):
            raise _NotHTTP()
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self._line()
            if line in (b"\r\n", b"\n"):
                return int(code), version, headers
            name, colon, value = line.decode("latin-1").partition(":")
            if colon:
                headers[name.strip().lower()] = value.strip()
        raise _NotHTTP()

    def _exactly(self, size: int) -> bytes:
        data = self.rfile.read(size)
        if len(data) < size:
            raise _Closed()
        return data

    def _chunked(self) -> tuple[bytes, bool]:
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                length = int(self._line().split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _NotHTTP() from None
            if length == 0:
                while self._line() not in (b"\r\n", b"\n"):  # trailers
                    pass
                return b"".join(parts), True
            if size + length > MAX_ANSWER:
                parts.append(self._exactly(MAX_ANSWER - size))
                return b"".join(parts), False
            parts.append(self._exactly(length))
            size += length
            self._line()  # the CRLF after each chunk


class Webhook(Protocol):
    """What the dispatcher sends a post through: this n8n client, or the demo inbox
    (webapp/inbox/delivery.py). `send` never raises for a failed call; it says what happened."""

    #: Seconds one call may take, all included.
    deadline: float

    #: Where it sends, for the pipeline check's sentences; whether it carries a secret; its read timeout.
    url: str
    has_secret: bool
    read_timeout: float

    def send(self, payload: dict[str, Any], idempotency_key: str) -> SendResult: ...

    def dry_run(self, payload: dict[str, Any], idempotency_key: str) -> tuple[SendResult, Any]:
        """The pipeline check's call (dispatch/check.py): what came back, and its JSON body."""
        ...


class WebhookClient:
    """POSTs a post to the webhook. Each sending thread keeps its own kept-alive connection."""

    def __init__(self, url: str, *, auth_header: str | None = None, secret: str | None = None,
                 read_timeout: float = 30.0, connect_timeout: float = CONNECT_TIMEOUT):
        self.url = url
        self.read_timeout = read_timeout
        self.connect_timeout = connect_timeout
        #: Seconds one call may take, all included (DISPATCH_LEASE is checked against it).
        self.deadline = connect_timeout + read_timeout
        try:
            self._target: _Target | None = _Target(url)
        except ValueError:
            self._target = None
        headers = {"Content-Type": "application/json", "User-Agent": "Punctual/1"}
        if self._target is not None:
            headers["Host"] = self._target.host_header
            if not self._target.tunnel:
                headers.update(self._target.proxy_headers)  # a plain HTTP proxy sees the request
        #: whether calls carry the Header Auth secret (the pipeline check's sentences say so)
        self.has_secret = bool(auth_header and secret)
        if auth_header and secret:
            headers[auth_header] = secret
        if any(c in "\r\n\0" for item in headers.items() for c in "".join(item)):
            raise ValueError("An n8n header name or value contains a line break; check N8N_WEBHOOK_AUTH_HEADER "
                             "and N8N_WEBHOOK_SECRET.")
        path = self._target.path if self._target is not None else "/"
        #: The request line and the headers every call shares, as bytes (the key and length vary).
        self._head = (f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                      ).encode("latin-1")
        self._tls = _tls_context() if self._target is not None and self._target.tls else None
        self._local = threading.local()

    # -------------------------------------------------------------- one call

    def send(self, payload: dict[str, Any], idempotency_key: str) -> SendResult:
        return self._call(payload, idempotency_key, b"")[0]

    def dry_run(self, payload: dict[str, Any], idempotency_key: str) -> tuple[SendResult, Any]:
        """The pipeline check's call (dispatch/check.py): the same request as a post's, plus the
        header `X-Punctual-Dry-Run: 1`; also the answer's JSON body (None if it has none)."""
        result, data = self._call(payload, idempotency_key, f"{DRY_RUN_HEADER}: 1\r\n".encode())
        try:
            return result, json.loads(data) if data else None
        except ValueError:
            return result, None

    def _call(self, payload: dict[str, Any], idempotency_key: str, extra: bytes) -> tuple[SendResult, bytes]:
        """One call: what came back, and the answer's body (b"" when none came)."""
        target = self._target
        if target is None:
            return SendResult.not_sent("the webhook URL is not valid; check N8N_WEBHOOK_URL"), b""
        body = json.dumps(payload).encode()
        if "\r" in idempotency_key or "\n" in idempotency_key:
            raise ValueError("an idempotency key cannot contain a line break")
        head = (self._head + extra
                + f"Idempotency-Key: {idempotency_key}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        call = _Call(time.monotonic() + self.deadline)
        _REAPER.watch(call)
        conn: _Connection | None = None
        keep = False
        try:
            conn = self._connection(call)
            # From here on, n8n may receive the request: a failure is "no answer", never "not sent".
            try:
                conn.sock.settimeout(max(0.001, min(self.read_timeout, call.remaining())))
                status, headers, data, keep = conn.exchange(head, body)
                failure = None
            except TimeoutError:
                failure = f"no answer within {self.read_timeout:g} s"
            except (_Closed, _NotHTTP, OSError) as exc:
                failure = _closed_detail(exc)
        except _NotSent as exc:
            return SendResult.not_sent(str(exc)), b""
        except _Overrun:
            return SendResult.not_sent(f"no connection to n8n within the {self.deadline:g} s deadline"), b""
        finally:
            overrun = call.finish()
            self._done(conn, keep and not overrun)
        if overrun:  # even a body that seems whole: the shutdown may have cut it short
            return SendResult.no_answer(f"no complete answer within the {self.deadline:g} s deadline"), b""
        if failure is not None:
            return SendResult.no_answer(failure), b""
        if 200 <= status < 300:
            return SendResult.answered(status, urn=_urn(data)), data
        return SendResult.answered(status, _detail(data), _retry_after(headers.get("retry-after"))), data

    # -------------------------------------------------------------- connections

    def _connection(self, call: _Call) -> _Connection:
        """This thread's kept-alive connection if it is fresh, else a new one (inside the deadline)."""
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and time.monotonic() - self._local.used_at <= MAX_IDLE_REUSE:
            call.attach(conn.sock)
            return conn
        self._done(conn, keep=False)
        return self._open(call)

    def _done(self, conn: _Connection | None, keep: bool) -> None:
        if conn is None:
            return
        if keep:
            self._local.conn, self._local.used_at = conn, time.monotonic()
            return
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _open(self, call: _Call) -> _Connection:
        target = self._target
        assert target is not None
        host, port = target.connect_to
        sock = self._connect(_resolve(host, port, call, self.connect_timeout), call)
        try:
            if target.tunnel:
                self._tunnel(sock, target)
            if self._tls is not None:
                sock = self._handshake(sock, target.host, call)
        except BaseException:
            sock.close()
            raise
        return _Connection(sock)

    def _connect(self, addresses: list[_AddressInfo], call: _Call) -> socket.socket:
        error: OSError | None = None
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                call.attach(sock)
                sock.settimeout(max(0.001, min(self.connect_timeout, call.remaining())))
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except BaseException as exc:
                sock.close()
                if isinstance(exc, _Overrun) or call.expired:
                    raise _Overrun() from None
                if not isinstance(exc, OSError):
                    raise
                error = exc
        if isinstance(error, socket.timeout):
            raise _NotSent(f"connect timeout after {self.connect_timeout:g} s")
        if isinstance(error, ConnectionRefusedError):
            raise _NotSent("connection refused")
        raise _NotSent(f"could not connect to n8n ({(error and error.strerror) or type(error).__name__})")

    def _tunnel(self, sock: socket.socket, target: _Target) -> None:
        """CONNECT through an HTTPS proxy (HTTPS_PROXY); nothing of the request has left yet."""
        authority = f"{target.host}:{target.port}"
        lines = [f"CONNECT {authority} HTTP/1.1", f"Host: {authority}",
                 *(f"{k}: {v}" for k, v in target.proxy_headers.items())]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            answer = http.client.HTTPResponse(sock, method="CONNECT")
            answer.begin()
        except (OSError, http.client.HTTPException) as exc:
            raise _NotSent(f"the proxy did not open a tunnel to n8n ({type(exc).__name__})") from None
        if answer.status != 200:
            raise _NotSent(f"the proxy refused the tunnel to n8n (HTTP {answer.status})")

    def _handshake(self, sock: socket.socket, host: str, call: _Call) -> socket.socket:
        assert self._tls is not None
        tls = self._tls.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        try:
            call.attach(tls)
            tls.do_handshake()
            return tls
        except BaseException as exc:
            tls.close()
            if isinstance(exc, _Overrun) or call.expired:
                raise _Overrun() from None
            if isinstance(exc, ssl.SSLCertVerificationError):
                raise _NotSent(f"n8n's TLS certificate was refused ({exc.verify_message})") from None
            if isinstance(exc, OSError):  # ssl.SSLError included
                raise _NotSent(f"the TLS handshake with n8n failed ({type(exc).__name__})") from None
            raise
