"""The shipped n8n workflow (docs/n8n/): the committed JSON is what the builder makes, its nodes are
wired as documented, and its Code nodes' JavaScript — run in Node.js with n8n's `$json`, `$env`,
`$getWorkflowStaticData` and `$()` stood in — checks the payload, drops repeated idempotency keys,
escapes LinkedIn's little text format and maps LinkedIn's answers to statuses Punctual classifies
as the design says. scripts/n8n-e2e.sh runs the same workflow in a real n8n."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from webapp.dispatch.retry import RetryPolicy, SendResult, decide

from .conftest import need

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import build_n8n_workflow as builder  # noqa: E402

WORKFLOW = json.loads(builder.OUTPUT.read_text())
NODES = {node["name"]: node for node in WORKFLOW["nodes"]}
PAYLOAD = {"postId": "p1", "userId": 1, "accessToken": "AQV-token", "personUrn": "urn:li:person:Ab12",
           "content": "Hello", "imageUrl": None, "scheduledAt": "2026-11-28T12:00:00Z",
           "idempotencyKey": "p1:3"}

HARNESS = r"""
const fs = require('fs');
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = cases.map(({code, json, env, staticData, nodes}) => {
  const store = staticData || {};
  const envProxy = env === null
    ? new Proxy({}, {get() { throw new Error('access to env vars denied'); }})
    : (env || {});
  const $ = (name) => ({ item: { json: nodes[name] } });
  const fn = new Function('$json', '$env', '$getWorkflowStaticData', '$', code);
  const result = fn(json, envProxy, () => store, $);
  return { result: result.json, staticData: store };
});
process.stdout.write(JSON.stringify(out));
"""


def run_js(cases: list[dict]) -> list[dict]:
    node = shutil.which("node")
    if node is None:
        need("Node.js (`node`) is not installed, so the workflow's JavaScript cannot be run")
    done = subprocess.run([node, "-e", HARNESS], input=json.dumps(cases), capture_output=True, text=True,
                          timeout=30, check=True)
    return json.loads(done.stdout)


def prepare(body: dict, *, env=None, published=None) -> dict:
    static = {"published": published} if published else {}
    return run_js([{"code": builder.code("prepare"), "json": {"body": body, "headers": {}},
                    "env": env, "staticData": static, "nodes": {}}])[0]["result"]


def map_answer(answer: dict, static=None) -> tuple[dict, dict]:
    prepared = {"idempotencyKey": "p1:3"}
    done = run_js([{"code": builder.code("map_answer"), "json": answer, "env": {}, "staticData": static or {},
                    "nodes": {"Prepare": prepared}}])[0]
    return done["result"], done["staticData"]


def test_the_committed_workflow_is_what_the_builder_makes():
    assert builder.OUTPUT.read_text() == builder.render(), \
        "docs/n8n/punctual-linkedin-workflow.json is stale: run scripts/build_n8n_workflow.py"


def test_the_webhook_needs_the_shared_secret_and_answers_from_the_workflow():
    hook = NODES["Webhook"]["parameters"]
    assert (hook["httpMethod"], hook["path"], hook["authentication"], hook["responseMode"]) == (
        "POST", "linkedin-post", "headerAuth", "responseNode")
    assert NODES["Webhook"]["credentials"]["httpHeaderAuth"]["name"] == "Punctual webhook secret"


def test_the_post_call_is_linkedins_posts_api_with_its_headers():
    call = NODES["LinkedIn: create post"]["parameters"]
    assert call["method"] == "POST" and call["url"].endswith("/rest/posts")
    headers = {h["name"]: h["value"] for h in call["headerParameters"]["parameters"]}
    assert headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert "accessToken" in headers["Authorization"] and "linkedinVersion" in headers["LinkedIn-Version"]
    assert call["options"]["response"]["response"] == {"fullResponse": True, "neverError": True}


def test_every_path_ends_in_the_answer_to_punctual():
    edges = {name: [t["node"] for outs in c["main"] for t in outs] for name, c in WORKFLOW["connections"].items()}
    for start in NODES:
        seen, todo = set(), [start]
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo += edges.get(name, [])
        assert "Answer Punctual" in seen, f"{start} never reaches the answer"
    assert set(edges["Route"]) == {"Answer Punctual", "LinkedIn: create post", "LinkedIn: initialize image upload"}


def test_prepare_builds_the_post_and_escapes_the_little_format():
    text = "a\\b | {x} @ada [l](u) <t> #tag *b* _i_ ~s~ — plain: 'quotes' \"and\" 100% & more"
    result = prepare({**PAYLOAD, "content": text})
    assert result["route"] == 1 and result["baseUrl"] == "https://api.linkedin.com"
    assert result["request"]["author"] == "urn:li:person:Ab12"
    assert result["request"]["commentary"] == (
        "a\\\\b \\| \\{x\\} \\@ada \\[l\\]\\(u\\) \\<t\\> \\#tag \\*b\\* \\_i\\_ \\~s\\~ "
        "— plain: 'quotes' \"and\" 100% & more")
    assert result["request"]["lifecycleState"] == "PUBLISHED" and result["request"]["visibility"] == "PUBLIC"


def test_prepare_routes_an_image_post_and_reads_the_base_url_from_the_environment():
    result = prepare({**PAYLOAD, "imageUrl": "https://img.example/a.png"},
                     env={"LINKEDIN_API_BASE_URL": "http://127.0.0.1:8765/", "LINKEDIN_API_VERSION": "202611"})
    assert (result["route"], result["baseUrl"], result["linkedinVersion"]) == (2, "http://127.0.0.1:8765", "202611")
    blocked = prepare(PAYLOAD, env=None)  # n8n 2 blocks $env by default: the defaults hold
    assert blocked["baseUrl"] == "https://api.linkedin.com"


@pytest.mark.parametrize("change, message", [
    ({"personUrn": ""}, "Missing or empty field(s): personUrn."),
    ({"content": None, "idempotencyKey": " "}, "Missing or empty field(s): content, idempotencyKey."),
    ({"personUrn": "ada"}, "personUrn must look like urn:li:person:<id>."),
])
def test_prepare_refuses_a_bad_payload_with_a_400(change, message):
    result = prepare({**PAYLOAD, **change})
    assert (result["route"], result["status"], result["body"]["message"]) == (0, 400, message)


def test_a_repeated_idempotency_key_is_answered_without_posting():
    result = prepare(PAYLOAD, published={"p1:3": "urn:li:share:42"})
    assert (result["route"], result["status"]) == (0, 200)
    assert result["body"]["linkedinPostUrn"] == "urn:li:share:42" and result["body"]["duplicate"] is True
    assert prepare({**PAYLOAD, "idempotencyKey": "p1:4"}, published={"p1:3": "urn:li:share:42"})["route"] == 1


@pytest.mark.parametrize("answer, status, outcome", [
    ({"statusCode": 201, "headers": {"x-restli-id": "urn:li:share:7"}, "body": ""}, 200, "sent"),
    ({"statusCode": 422, "headers": {}, "body": {"message": "Content is a duplicate of urn:li:share:6",
                                                 "code": "DUPLICATE_POST"}}, 409, "rejected"),
    ({"statusCode": 429, "headers": {"retry-after": "120"}, "body": {"message": "Throttled"}}, 429, "retry"),
    ({"statusCode": 401, "headers": {}, "body": {"message": "Invalid access token"}}, 401, "rejected"),
    ({"statusCode": 403, "headers": {}, "body": {"message": "Not enough permissions"}}, 403, "rejected"),
    ({"statusCode": 500, "headers": {}, "body": {"message": "Internal"}}, 502, "unconfirmed"),
    ({"statusCode": 503, "headers": {}, "body": ""}, 502, "unconfirmed"),
    ({"error": {"message": "timeout of 20000ms exceeded"}}, 502, "unconfirmed"),
])
def test_linkedins_answers_map_to_statuses_punctual_classifies_right(answer, status, outcome):
    result, static = map_answer(answer)
    assert result["status"] == status
    assert classify_status(status, result.get("retryAfter")) == outcome
    if status == 200:
        assert result["body"] == {"linkedinPostUrn": "urn:li:share:7"}
        assert static["published"] == {"p1:3": "urn:li:share:7"}  # remembered only once confirmed
    else:
        assert "published" not in static and result["body"]["message"]
    if status == 429:
        assert result["retryAfter"] == "120"


def test_the_memory_of_keys_is_bounded():
    published = {f"k{i}": f"urn:li:share:{i}" for i in range(5000)}
    _, static = map_answer({"statusCode": 201, "headers": {"x-restli-id": "urn:li:share:new"}},
                           static={"published": published})
    assert len(static["published"]) == 5000 and "k0" not in static["published"]
    assert static["published"]["p1:3"] == "urn:li:share:new"


def classify_status(status: int, retry_after: str | None) -> str:
    """How Punctual's dispatcher classifies the workflow's answer (webapp.dispatch.retry)."""
    now = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
    verdict = decide(SendResult.answered(status, "detail", float(retry_after) if retry_after else None),
                     attempt=1, scheduled_at=now, now=now, policy=RetryPolicy())
    return {"confirm": "sent", "retry_later": "retry"}.get(verdict.action, verdict.kind)
