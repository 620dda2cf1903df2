"""The OpenAPI document (/api/openapi.json): it describes every /api route and nothing else, the
test client holds every answer to it (tests/contract.py), and Schemathesis throws generated and
broken requests at the real app (both ways of authenticating, a database of its own): no server
error, no answer outside the document."""

from __future__ import annotations

import io
import json
import os
import time
from collections import Counter, defaultdict
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from werkzeug.wrappers import Response

from webapp.api.openapi import OPERATIONS, document
from webapp.models import utcnow

from .conftest import connect_linkedin, make_token, make_user, new_post
from .contract import FUZZ_COUNTS, contract_errors, openapi_path
from .qstash_fixtures import CRON_SECRET, PUBLIC_APP_URL, qstash_app_config
from .qstash_standin import sign

HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def test_every_api_route_is_described_and_every_description_is_a_route(app):
    routes = {(openapi_path(rule.rule), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
              for method in (rule.methods or set()) & HTTP_METHODS}
    assert routes - set(OPERATIONS) == set(), "routes under /api missing from webapp/api/openapi.py"
    assert set(OPERATIONS) - routes == set(), "operations in webapp/api/openapi.py with no route"


def test_the_document_is_served_as_openapi_3_1_and_schemathesis_reads_it(client):
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200
    assert answer.get_json() == json.loads(json.dumps(document()))
    assert answer.get_json()["openapi"] == "3.1.0"
    loaded = schemathesis.openapi.from_dict(answer.get_json())
    assert len(list(loaded.get_all_operations())) == len(OPERATIONS)


def json_answer(status: int, body: object) -> Response:
    return Response(json.dumps(body), status, content_type="application/json")


GOOD_POST = {"id": "p1", "status": "draft", "content": "x", "imageUrl": None, "scheduledAt": None,
             "publishedAt": None, "errorMessage": None, "attemptCount": 0, "qstashMessageId": None,
             "linkedinPostUrn": None, "createdAt": "2026-01-01T00:00:00.000Z",
             "updatedAt": "2026-01-01T00:00:00.000Z"}


@pytest.mark.parametrize(("method", "path", "response", "problem"), [
    # an undocumented status
    ("GET", "/api/posts", json_answer(500, {"error": "boom"}), "answered 500"),
    # a field the document does not name, one it needs missing, a wrong type, a bad instant
    ("POST", "/api/posts", json_answer(201, {**GOOD_POST, "extra": 1}), "Additional properties"),
    ("POST", "/api/posts", json_answer(201, {k: v for k, v in GOOD_POST.items() if k != "status"}), "status"),
    ("POST", "/api/posts", json_answer(201, {**GOOD_POST, "attemptCount": "0"}), "integer"),
    ("POST", "/api/posts", json_answer(201, {**GOOD_POST, "createdAt": "yesterday"}), "date-time"),
    # an error that is not {"error": sentence}; a 204 with a body; an HTML answer
    ("GET", "/api/posts/p1", json_answer(404, {"message": "no"}), "error"),
    ("DELETE", "/api/posts/p1", json_answer(204, {"ok": True}), "without a body"),
    ("GET", "/api/posts", Response("<p>hi</p>", 200, content_type="text/html"), "not JSON"),
])
def test_an_answer_outside_the_document_is_caught(app, method, path, response, problem):
    problems = contract_errors(app, method, path, response)
    assert problems and problem in "; ".join(problems)


def test_a_documented_answer_passes(app):
    assert contract_errors(app, "POST", "/api/posts", json_answer(201, GOOD_POST)) == []
    assert contract_errors(app, "GET", "/api/nowhere", json_answer(404, {"error": "There is nothing here."})) == []


# ---------------------------------------------------------------- Schemathesis against the app

#: Examples per operation, per generation mode (valid / broken) and way of authenticating.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance, negative_data_rejection]
#: A broken request must get a 4xx; 489 is how /api/posts/dispatch tells QStash "malformed, never again".
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {
    "expected-statuses": ["400", "401", "404", "405", "409", "415", "489"]}}})
#: Stands for "sign this body": SigningMiddleware replaces it with a real Upstash-Signature.
SIGN_ME = "sign-me"


class SigningMiddleware:
    """Signs a request marked SIGN_ME the way QStash would (the test keys), whatever its body."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("HTTP_UPSTASH_SIGNATURE") == SIGN_ME:
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            environ["wsgi.input"] = io.BytesIO(body)
            environ["HTTP_UPSTASH_SIGNATURE"] = sign(body, PUBLIC_APP_URL + environ["PATH_INFO"])
        return self.app(environ, start_response)


@pytest.fixture
def config_overrides(standin, receiver):
    standin.drop = True  # QStash's deliveries come from the fuzzer here
    return qstash_app_config(standin, PUBLIC_APP_URL, receiver)


def real_posts(app, user_id: int) -> list[str]:
    """A post in each status a user can act on, so generated calls reach real rows too."""
    now = utcnow()
    draft, _ = new_post(app, user_id, "a draft")
    later, _ = new_post(app, user_id, "for next week", at=now + timedelta(days=7))
    due, _ = new_post(app, user_id, "due now", at=now - timedelta(seconds=1))
    return [draft, later, due]


def credentials(security: list, mode: str, token: str, session: tuple[str, str]) -> tuple[dict, dict]:
    """(headers, cookies) for an operation's security, the user's way being `mode`."""
    schemes = {name for requirement in security for name in requirement}
    if "upstashSignature" in schemes:
        return {"Upstash-Signature": SIGN_ME}, {}
    if "cronSecret" in schemes:
        return {"Authorization": f"Bearer {CRON_SECRET}"}, {}
    if not schemes:
        return {}, {}
    if mode == "token":
        return {"Authorization": f"Bearer {token}"}, {}
    cookie, csrf = session
    return {"X-CSRFToken": csrf}, {"session": cookie}


def log_in(app) -> tuple[str, str]:
    """(session cookie, CSRF token) of a browser logged in as ada@example.com."""
    from .conftest import csrf_from

    browser = app.test_client()
    token = csrf_from(browser.get("/login").text)
    assert browser.post("/login", data={"csrf_token": token, "email": "ada@example.com",
                                        "password": "correct horse"}).status_code == 302
    cookie = browser.get_cookie("session")
    assert cookie is not None
    return cookie.value, csrf_from(browser.get("/settings").text)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["token", "session"])
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_document(app, mode):
    user_id = make_user(app)
    connect_linkedin(app, user_id)
    token = make_token(app, user_id)
    session = log_in(app)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", SigningMiddleware(app.wsgi_app), config=CONFIG)
    statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)
    started = time.monotonic()
    for operation_result in schema.get_all_operations():
        operation = operation_result.ok()
        machine = operation.method.upper() == "POST" and operation.path in ("/api/posts/dispatch",
                                                                             "/api/posts/recover")
        if mode == "session" and (not operation.definition.raw.get("security") or machine
                                  or operation.path == "/api/posts/recover"):
            continue  # nothing about the user's session to try there; the token run covers it
        headers, cookies = credentials(operation.definition.raw.get("security", []), mode, token, session)
        post_ids = real_posts(app, user_id)  # fresh ones: an earlier operation may have deleted them
        for generation in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_operation(operation, generation, headers, cookies, post_ids, statuses)
    FUZZ_COUNTS["seconds"] += round(time.monotonic() - started)
    # The credentials worked: valid calls were answered, not only refused as unauthenticated.
    for path in ("/api/posts", "/api/posts/{post_id}", "/api/posts/{post_id}/duplicate"):
        assert statuses[path][200] + statuses[path][201] > 0, (path, statuses[path])


def run_operation(operation, generation, headers, cookies, post_ids, statuses) -> None:
    @settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=generation), pick=st.integers(0, 2 * len(post_ids)))
    def run(case, pick):
        # Valid requests reach real posts a third of the time (a broken one must stay broken).
        real = post_ids[pick] if pick < len(post_ids) and generation is GenerationMode.POSITIVE else None
        if real and "post_id" in (case.path_parameters or {}):
            case.path_parameters["post_id"] = real
        if real and isinstance(case.body, dict) and "postId" in case.body:
            case.body["postId"] = real
        response = case.call(headers=headers, cookies=cookies)
        FUZZ_COUNTS["requests"] += 1
        statuses[operation.path][response.status_code] += 1
        if generation is GenerationMode.NEGATIVE:
            FUZZ_COUNTS["bad inputs"] += 1
        if response.status_code >= 500 and response.status_code != 503:
            FUZZ_COUNTS["server errors"] += 1
        case.validate_response(response, checks=CHECKS)

    run()
