"""The n8n client, against a real HTTP server on loopback: the exact call, how each failure is
classified, and the one wall-clock deadline that bounds every call however the server behaves."""

import datetime as dt
import socket
import time

import pytest

from webapp.dispatch import webhook
from webapp.dispatch.webhook import MAX_ANSWER, WebhookClient, _retry_after

from .receiver import Answer, Receiver

PAYLOAD = {"postId": "p1", "userId": 1, "accessToken": "tok", "personUrn": "urn:li:person:x",
           "content": "hi", "imageUrl": None, "scheduledAt": "2026-12-01T09:00:00.000Z",
           "idempotencyKey": "p1:3"}
#: A bound no busy CI machine misses, far below what the misbehaving servers below would take.
GENEROUS = 10


@pytest.fixture
def n8n():
    with Receiver() as receiver:
        yield receiver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_call_carries_the_payload_key_and_shared_secret(n8n):
    n8n.answer = Answer(body={"linkedinPostUrn": "urn:li:share:42"})
    client = WebhookClient(n8n.url, auth_header="X-N8N-Secret", secret="s3cret", read_timeout=12)
    result = client.send(PAYLOAD, "p1:3")
    assert (result.kind, result.status, result.urn) == ("answered", 200, "urn:li:share:42")
    [call] = n8n.arrivals
    assert call.body == PAYLOAD and call.path == "/webhook"
    assert call.headers["Idempotency-Key"] == "p1:3"
    assert call.headers["X-N8N-Secret"] == "s3cret"
    assert call.headers["Content-Type"] == "application/json"
    assert client.deadline == 5 + 12  # connect timeout + N8N_TIMEOUT


def test_a_redirect_is_reported_not_followed(n8n):
    n8n.answer = Answer(status=302, headers={"Location": "https://elsewhere.example.com/"})
    result = WebhookClient(n8n.url).send(PAYLOAD, "k")
    assert result.status == 302 and len(n8n.arrivals) == 1


@pytest.mark.parametrize("body, urn", [
    ({"urn": "urn:li:share:7"}, "urn:li:share:7"),
    ({"linkedinPostUrn": "urn:li:ugcPost:8", "urn": "x"}, "urn:li:ugcPost:8"),
    ({"ok": True}, None),
    ([1, 2], None),
    ("Workflow got started", None),
])
def test_urn_is_read_from_a_json_answer_when_present(n8n, body, urn):
    n8n.answer = Answer(body=body)
    assert WebhookClient(n8n.url).send(PAYLOAD, "k").urn == urn


@pytest.mark.parametrize("status, body, detail", [
    (400, {"message": "Missing content"}, "Missing content"),
    (404, {"code": 404, "message": "The requested webhook is not registered."},
     "The requested webhook is not registered."),
    (422, "DUPLICATE_POST", "DUPLICATE_POST"),
    (500, "<html>" + "x" * 500, "<html>" + "x" * 294 + "…"),
])
def test_n8ns_message_becomes_the_detail(n8n, status, body, detail):
    n8n.answer = Answer(status=status, body=body)
    result = WebhookClient(n8n.url).send(PAYLOAD, "k")
    assert (result.kind, result.status, result.detail) == ("answered", status, detail)


def test_retry_after_in_seconds_is_read(n8n):
    n8n.answer = Answer(status=429, headers={"Retry-After": "17"})
    result = WebhookClient(n8n.url).send(PAYLOAD, "k")
    assert (result.status, result.retry_after) == (429, 17.0)


NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    # delta-seconds: ASCII digits only
    ("17", 17.0),
    (" 42 ", 42.0),
    ("0", 0.0),
    ("99999999999999", 1e9),  # absurd: capped here, then at RETRY_MAX_DELAY by the policy
    ("²", None),  # a digit to str.isdigit(), not to HTTP
    ("1.5", None),
    ("-5", None),
    ("", None),
    (None, None),
    # HTTP dates (RFC 9110): from now, never negative
    ("Tue, 01 Dec 2026 09:00:30 GMT", 30.0),
    ("Tuesday, 01-Dec-26 09:01:00 GMT", 60.0),  # the obsolete RFC 850 form
    ("Mon, 30 Nov 2026 09:00:00 GMT", 0.0),  # in the past: at once
    ("Fri, 31 Dec 9999 23:59:59 GMT", 1e9),
    ("Mon, 32 Foo 2026 25:61:00 GMT", None),
    ("garbage", None),
])
def test_retry_after_is_parsed_like_a_browser_and_never_raises(value, seconds):
    assert _retry_after(value, NOW) == seconds


def test_connection_refused_on_a_real_socket_means_not_sent():
    result = WebhookClient(f"http://127.0.0.1:{free_port()}/hook").send(PAYLOAD, "k")
    assert (result.kind, result.detail) == ("not_sent", "connection refused")


def test_unresolvable_host_means_not_sent():
    result = WebhookClient("http://n8n.invalid./hook").send(PAYLOAD, "k")
    assert result.kind == "not_sent" and "could not be resolved" in result.detail


def test_a_name_lookup_that_hangs_is_abandoned_at_the_connect_timeout(monkeypatch):
    """getaddrinfo cannot be interrupted; the sender stops waiting for it and nothing was sent."""
    monkeypatch.setattr(webhook.socket, "getaddrinfo", lambda *a, **k: time.sleep(60))
    started = time.monotonic()
    result = WebhookClient("http://n8n.example.com/hook", connect_timeout=0.5).send(PAYLOAD, "k")
    assert time.monotonic() - started < GENEROUS
    assert (result.kind, result.detail) == ("not_sent", "the n8n host name was not resolved within 0.5 s")


def test_a_dropped_connection_after_sending_means_no_answer(n8n):
    n8n.answer = Answer(drop=True)
    result = WebhookClient(n8n.url).send(PAYLOAD, "k")
    assert len(n8n.arrivals) == 1  # n8n did get it
    assert result.kind == "no_answer"


def test_a_hanging_webhook_times_out_as_no_answer(n8n):
    n8n.answer = Answer(hang=2)
    result = WebhookClient(n8n.url, read_timeout=0.3).send(PAYLOAD, "k")
    assert (result.kind, result.detail) == ("no_answer", "no answer within 0.3 s")


def test_a_dribbled_answer_is_cut_at_the_deadline_as_no_answer(n8n):
    """Each byte comes well inside the read timeout, so only a wall-clock deadline ends the call:
    the whole answer would take ~30 s; the deadline is 1 + 1 s."""
    n8n.answer = Answer(body={"linkedinPostUrn": "urn:li:share:1"}, dribble=0.2)
    started = time.monotonic()
    result = WebhookClient(n8n.url, connect_timeout=1, read_timeout=1).send(PAYLOAD, "k")
    took = time.monotonic() - started
    assert (result.kind, result.detail) == ("no_answer", "no complete answer within the 2 s deadline")
    assert 2 <= took + 0.05 and took < GENEROUS  # never before the deadline, and not ~30 s


def test_a_fast_dribble_that_ends_in_time_is_a_normal_answer(n8n):
    n8n.answer = Answer(body={"urn": "urn:li:share:5"}, dribble=0.001)
    result = WebhookClient(n8n.url, read_timeout=20).send(PAYLOAD, "k")
    assert (result.kind, result.status, result.urn) == ("answered", 200, "urn:li:share:5")


def test_a_huge_answer_is_read_only_as_far_as_needed(n8n):
    n8n.answer = Answer(status=400, body="x" * (20 * MAX_ANSWER))
    client = WebhookClient(n8n.url)
    result = client.send(PAYLOAD, "k")
    assert (result.status, len(result.detail)) == (400, webhook.MAX_DETAIL + 1)
    assert client.send(PAYLOAD, "k2").status == 400  # the unread rest did not poison the next call
    assert n8n.arrivals[0].peer != n8n.arrivals[1].peer  # that connection was dropped


def test_a_malformed_url_means_not_sent():
    result = WebhookClient("not a url").send(PAYLOAD, "k")
    assert result.kind == "not_sent" and "N8N_WEBHOOK_URL" in result.detail


def test_a_fresh_connection_is_kept_alive_and_reused(n8n):
    client = WebhookClient(n8n.url)
    assert client.send(PAYLOAD, "a").status == client.send(PAYLOAD, "b").status == 200
    assert n8n.arrivals[0].peer == n8n.arrivals[1].peer


def test_an_idle_connection_is_not_reused(n8n, monkeypatch):
    """Node closes idle connections after 5 s; reusing one at that moment would read as "no answer"."""
    client = WebhookClient(n8n.url)
    client.send(PAYLOAD, "a")
    monkeypatch.setattr(webhook, "MAX_IDLE_REUSE", -1.0)
    client.send(PAYLOAD, "b")
    assert n8n.arrivals[0].peer != n8n.arrivals[1].peer


def test_the_answer_is_awaited_with_quick_acks(n8n, monkeypatch):
    """See webhook._tcp_quickack: set once the request is out, before the answer is read."""
    seen = []
    monkeypatch.setattr(webhook, "_tcp_quickack", lambda sock: seen.append(len(n8n.arrivals) <= 1))
    WebhookClient(n8n.url).send(PAYLOAD, "k")
    assert seen == [True]


def test_through_a_plain_http_proxy_the_absolute_url_is_asked_for(n8n, monkeypatch):
    proxy = n8n.url.replace("http://", "http://user:pa%20ss@").rsplit("/", 1)[0]
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = WebhookClient("http://n8n.internal.example:5678/webhook/post").send(PAYLOAD, "k")
    assert result.status == 200
    [call] = n8n.arrivals
    assert call.path == "http://n8n.internal.example:5678/webhook/post"
    assert call.headers["Proxy-Authorization"] == "Basic dXNlcjpwYSBzcw=="  # user:pa ss


def test_an_https_proxy_that_refuses_the_tunnel_means_not_sent(n8n, monkeypatch):
    n8n.answer = Answer(status=407)
    monkeypatch.setenv("HTTPS_PROXY", n8n.url.rsplit("/", 1)[0])
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    result = WebhookClient("https://n8n.example.com/webhook/post").send(PAYLOAD, "k")
    assert (result.kind, result.detail) == ("not_sent", "the proxy refused the tunnel to n8n (HTTP 407)")
    assert [(a.method, a.path) for a in n8n.arrivals] == [("CONNECT", "n8n.example.com:443")]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: (certificate file, key file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "punctual-test")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return str(folder / "cert.pem"), str(folder / "key.pem")


def test_https_with_a_trusted_certificate(certificate, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certificate[0])
    with Receiver(tls=certificate) as n8n:
        result = WebhookClient(n8n.url).send(PAYLOAD, "k")
        assert (result.kind, result.status) == ("answered", 200) and n8n.arrivals[0].body == PAYLOAD


def test_https_with_an_untrusted_certificate_means_not_sent(certificate, monkeypatch):
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    with Receiver(tls=certificate) as n8n:
        result = WebhookClient(n8n.url).send(PAYLOAD, "k")
        assert result.kind == "not_sent" and "TLS certificate was refused" in result.detail
        assert n8n.arrivals == []


@pytest.mark.parametrize("raw, status, urn", [
    # what a Node server (n8n) may send: chunked, with trailers, with a 100 Continue first, HTTP/1.0
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"5\r\n{\"urn\r\n14;ext=1\r\n\": \"urn:li:share:3\"}\r\n0\r\nX-T: 1\r\n\r\n",
     200, "urn:li:share:3"),
    (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}", 201, None),
    (b"HTTP/1.0 200 OK\r\n\r\n{\"urn\": \"urn:li:share:4\"}", 200, "urn:li:share:4"),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, None),
])
def test_answers_are_read_however_they_are_framed(raw, status, urn):
    result = _raw_answer(raw)
    assert (result.kind, result.status, result.urn) == ("answered", status, urn)


@pytest.mark.parametrize("raw", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 2xx OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 101 + b"\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"",
])
def test_a_broken_answer_is_no_answer(raw):
    assert _raw_answer(raw).kind == "no_answer"


def _raw_answer(raw: bytes):
    """Send one call to a server that answers `raw` and closes."""
    import threading

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def answer():
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(raw)

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        result = WebhookClient(f"http://127.0.0.1:{server.getsockname()[1]}/hook", read_timeout=5).send(PAYLOAD, "k")
        thread.join(5)
    return result


def test_a_header_value_with_a_line_break_is_refused_at_start():
    with pytest.raises(ValueError, match="line break"):
        WebhookClient("http://n8n.example.com/hook", auth_header="X-Secret", secret="a\r\nX-Evil: 1")
