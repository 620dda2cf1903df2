"""The n8n client: the exact call, and how each failure is classified."""

import json
import socket

import pytest
import requests
import responses

from webapp.dispatch.webhook import WebhookClient, _retry_after

from .receiver import Answer, Receiver

URL = "https://n8n.example.com/webhook/linkedin-post"
PAYLOAD = {"postId": "p1", "userId": 1, "accessToken": "tok", "personUrn": "urn:li:person:x",
           "content": "hi", "imageUrl": None, "scheduledAt": "2026-12-01T09:00:00.000Z",
           "idempotencyKey": "p1:3"}


@responses.activate
def test_the_call_carries_the_payload_key_and_shared_secret():
    responses.post(URL, json={"linkedinPostUrn": "urn:li:share:42"}, status=200)
    client = WebhookClient(URL, auth_header="X-N8N-Secret", secret="s3cret", read_timeout=12)
    result = client.send(PAYLOAD, "p1:3")
    assert (result.kind, result.status, result.urn) == ("answered", 200, "urn:li:share:42")
    call = responses.calls[0].request
    assert json.loads(call.body) == PAYLOAD
    assert call.headers["Idempotency-Key"] == "p1:3"
    assert call.headers["X-N8N-Secret"] == "s3cret"
    assert call.headers["Content-Type"] == "application/json"
    assert call.req_kwargs["timeout"] == (5.0, 12)


@responses.activate
def test_a_redirect_is_reported_not_followed():
    responses.post(URL, status=302, headers={"Location": "https://elsewhere.example.com/"})
    result = WebhookClient(URL).send(PAYLOAD, "k")
    assert result.status == 302 and len(responses.calls) == 1


@responses.activate
@pytest.mark.parametrize("body, urn", [
    ({"urn": "urn:li:share:7"}, "urn:li:share:7"),
    ({"linkedinPostUrn": "urn:li:ugcPost:8", "urn": "x"}, "urn:li:ugcPost:8"),
    ({"ok": True}, None),
    ([1, 2], None),
    ("Workflow got started", None),
])
def test_urn_is_read_from_a_json_answer_when_present(body, urn):
    responses.post(URL, body=json.dumps(body) if not isinstance(body, str) else body, status=200)
    assert WebhookClient(URL).send(PAYLOAD, "k").urn == urn


@responses.activate
@pytest.mark.parametrize("status, body, detail", [
    (400, {"message": "Missing content"}, "Missing content"),
    (404, {"code": 404, "message": "The requested webhook is not registered."}, "The requested webhook is not registered."),
    (422, "DUPLICATE_POST", "DUPLICATE_POST"),
    (500, "<html>" + "x" * 500, "<html>" + "x" * 294 + "…"),
])
def test_n8ns_message_becomes_the_detail(status, body, detail):
    responses.post(URL, body=json.dumps(body) if isinstance(body, dict) else body, status=status)
    result = WebhookClient(URL).send(PAYLOAD, "k")
    assert (result.kind, result.status, result.detail) == ("answered", status, detail)


@responses.activate
def test_retry_after_in_seconds_is_read():
    responses.post(URL, status=429, headers={"Retry-After": "17"})
    result = WebhookClient(URL).send(PAYLOAD, "k")
    assert (result.status, result.retry_after) == (429, 17.0)


def test_retry_after_as_an_http_date():
    from datetime import datetime, timezone
    now = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert _retry_after("Tue, 01 Dec 2026 09:00:30 GMT", now) == 30.0
    assert _retry_after("garbage", now) is None


@responses.activate
def test_connect_timeout_means_not_sent():
    responses.post(URL, body=requests.exceptions.ConnectTimeout("timed out"))
    result = WebhookClient(URL).send(PAYLOAD, "k")
    assert result.kind == "not_sent" and "connect timeout" in result.detail


@responses.activate
def test_read_timeout_means_no_answer():
    responses.post(URL, body=requests.exceptions.ReadTimeout("read timed out"))
    result = WebhookClient(URL, read_timeout=30).send(PAYLOAD, "k")
    assert result.kind == "no_answer" and result.detail == "no answer within 30 s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_connection_refused_on_a_real_socket_means_not_sent():
    result = WebhookClient(f"http://127.0.0.1:{free_port()}/hook").send(PAYLOAD, "k")
    assert (result.kind, result.detail) == ("not_sent", "connection refused")


def test_unresolvable_host_means_not_sent():
    result = WebhookClient("http://n8n.invalid./hook").send(PAYLOAD, "k")
    assert result.kind == "not_sent"


def test_a_dropped_connection_after_sending_means_no_answer():
    with Receiver() as receiver:
        receiver.answer = Answer(drop=True)
        result = WebhookClient(receiver.url).send(PAYLOAD, "k")
        assert len(receiver.arrivals) == 1  # n8n did get it
    assert result.kind == "no_answer"


def test_a_hanging_webhook_times_out_as_no_answer():
    with Receiver() as receiver:
        receiver.answer = Answer(hang=2)
        result = WebhookClient(receiver.url, read_timeout=0.3).send(PAYLOAD, "k")
    assert (result.kind, result.detail) == ("no_answer", "no answer within 0.3 s")


def test_a_malformed_url_means_not_sent():
    result = WebhookClient("not a url").send(PAYLOAD, "k")
    assert result.kind == "not_sent" and "N8N_WEBHOOK_URL" in result.detail


def test_connections_ack_at_once_while_waiting_for_the_answer():
    """Kept-alive connections use the quick-ACK connection class (see webhook._QuickAck)."""
    from webapp.dispatch.webhook import _QuickAckHTTPPool

    with Receiver() as receiver:
        client = WebhookClient(receiver.url)
        assert client.send(PAYLOAD, "k").status == 200
        manager = client._session().get_adapter(receiver.url).poolmanager
        assert type(manager.connection_from_url(receiver.url)) is _QuickAckHTTPPool
