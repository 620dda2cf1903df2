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

# Each Code node runs as in n8n 2's JavaScript task runner: inside a node:vm context holding only
# JavaScript's own built-ins, the few Node globals the runner adds (Buffer, timers, btoa/atob, text
# codecs, FormData) and n8n's variables; so no URL class and no require, exactly as in n8n.
HARNESS = r"""
const fs = require('fs');
const vm = require('vm');
const cases = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = cases.map(({code, json, binary, env, staticData, nodes}) => {
  const store = staticData || {};
  const envProxy = env === null
    ? new Proxy({}, {get() { throw new Error('access to env vars denied'); }})
    : (env || {});
  const $ = (name) => {
    if (!(name in nodes)) throw new Error(`node ${name} has not run`);
    return { item: { json: nodes[name] } };
  };
  const context = vm.createContext({
    $json: json, $input: { item: { json, binary } }, $env: envProxy, $getWorkflowStaticData: () => store, $,
    Buffer, setTimeout, setInterval, setImmediate, clearTimeout, clearInterval, clearImmediate,
    btoa, atob, TextDecoder, TextEncoder, FormData,
  });
  const result = vm.runInContext(`(function () {${code}\n})()`, context, { timeout: 5000 });
  return JSON.parse(JSON.stringify({
    result: result.json, binary: result.binary === undefined ? null : result.binary, staticData: store }));
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


def run_node(name: str, json_: dict, *, env=None, static=None, nodes=None, binary=None) -> dict:
    """Runs one Code node's JavaScript on one item; returns {result, binary, staticData}."""
    return run_js([{"code": builder.code(name), "json": json_, "binary": binary, "env": {} if env is None else env,
                    "staticData": static if static is not None else {}, "nodes": nodes or {}}])[0]


def prepare(body: dict, *, env=None, published=None, headers=None) -> dict:
    static = {"published": published} if published else {}
    return run_js([{"code": builder.code("prepare"), "json": {"body": body, "headers": headers or {}},
                    "env": env, "staticData": static, "nodes": {}}])[0]["result"]


def map_answer(answer: dict, static=None) -> tuple[dict, dict]:
    prepared = {"idempotencyKey": "p1:3"}
    done = run_node("map_answer", answer, static=static, nodes={"Prepare": prepared})
    return done["result"], done["staticData"]


def test_the_code_runs_in_a_sandbox_like_n8ns_without_url_or_require():
    probe = "return { json: { url: typeof URL, require: typeof require, process: typeof process } };"
    done = run_js([{"code": probe, "json": {}, "env": {}, "staticData": {}, "nodes": {}}])[0]
    assert done["result"] == {"url": "undefined", "require": "undefined", "process": "undefined"}


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
    routes = [[t["node"] for t in out] for out in WORKFLOW["connections"]["Route"]["main"]]
    assert routes == [["Answer Punctual"], ["LinkedIn: create post"], ["LinkedIn: initialize image upload"],
                      ["LinkedIn: who am I"]]
    assert NODES["Route"]["parameters"]["numberOutputs"] == len(routes)


def reachable(start: str) -> set[str]:
    edges = {name: [t["node"] for outs in c["main"] for t in outs] for name, c in WORKFLOW["connections"].items()}
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += edges.get(name, [])
    return seen


def test_a_dry_run_path_never_reaches_the_posts_api_nor_the_memory_of_keys():
    assert reachable("LinkedIn: who am I") == {"LinkedIn: who am I", "Map the dry run", "Answer Punctual"}
    # Only "Map LinkedIn's answer" remembers keys, and it is off the dry-run path.
    writers = [name for name in ("prepare", "map_answer", "map_dry_run", "check_image", "attach_image")
               if "published[" in builder.code(name) and "= urn" in builder.code(name)]
    assert writers == ["map_answer"]
    call = NODES["LinkedIn: who am I"]["parameters"]
    assert call.get("method", "GET") == "GET" and call["url"].endswith("/v2/userinfo")
    assert "$('Prepare').item.json.baseUrl" in call["url"]
    assert call["headerParameters"]["parameters"] == [
        {"name": "Authorization", "value": "=Bearer {{ $('Prepare').item.json.accessToken }}"}]
    assert call["options"]["response"]["response"] == {"fullResponse": True, "neverError": True}
    assert NODES["LinkedIn: who am I"]["onError"] == "continueRegularOutput"


def test_the_image_download_follows_no_redirect_and_its_answer_is_checked_before_the_upload():
    options = NODES["Download image"]["parameters"]["options"]
    assert options["redirect"] == {"redirect": {"followRedirects": False}}
    assert options["response"]["response"] == {"fullResponse": True, "neverError": True, "responseFormat": "file"}
    assert reachable("Download image") >= {"Check the image", "Image downloaded?", "LinkedIn: upload image"}
    outs = [[t["node"] for t in out] for out in WORKFLOW["connections"]["Image downloaded?"]["main"]]
    assert outs == [["Answer Punctual"], ["LinkedIn: upload image"]]


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
    result = prepare({**PAYLOAD, "imageUrl": "https://img.example.com/a.png"},
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
    # a published post's resend is answered as published, even if its image URL is now refused
    again = prepare({**PAYLOAD, "imageUrl": "http://10.0.0.1/a.png"}, published={"p1:3": "urn:li:share:42"})
    assert (again["route"], again["status"], again["body"]["duplicate"]) == (0, 200, True)
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


DRY = {"dryRun": True, "idempotencyKey": "dry-run:6f1c2e4a-0000-4000-8000-000000000001", "userId": 1,
       "accessToken": "AQV-token", "personUrn": "urn:li:person:Ab12"}
DRY_HEADERS = {"x-punctual-dry-run": "1", "idempotency-key": DRY["idempotencyKey"]}


@pytest.mark.parametrize("body, headers", [
    (DRY, DRY_HEADERS),                                      # what Punctual sends
    (DRY, {}),                                               # the body alone says so
    ({**DRY, "dryRun": None}, {"x-punctual-dry-run": "1"}),  # the header alone says so
    ({**DRY, "dryRun": "yes"}, {}),                          # any value but an explicit no
    ({**DRY, "dryRun": False}, {"x-punctual-dry-run": "true"}),
])
def test_a_dry_run_goes_to_the_token_check_and_carries_nothing_to_post(body, headers):
    result = prepare(body, headers=headers, published={DRY["idempotencyKey"]: "urn:li:share:1"})
    assert result == {"route": 3, "dryRun": True, "accessToken": "AQV-token", "personUrn": "urn:li:person:Ab12",
                      "baseUrl": "https://api.linkedin.com", "linkedinVersion": "202510"}


@pytest.mark.parametrize("change, message", [
    ({"personUrn": None}, "A dry run needs personUrn; nothing was checked."),
    ({"personUrn": " ", "accessToken": ""}, "A dry run needs personUrn and accessToken; nothing was checked."),
    ({"personUrn": "ada"}, "personUrn must look like urn:li:person:<id>; nothing was checked."),
    ({"content": "Hello", "postId": "p1"}, "A dry run carries no postId, content; nothing was checked or posted."),
    ({"imageUrl": "https://media.licdn.com/x.png"}, "A dry run carries no imageUrl; nothing was checked or posted."),
])
def test_a_bad_dry_run_is_refused_with_a_400(change, message):
    result = prepare({**DRY, **change}, headers=DRY_HEADERS)
    assert (result["route"], result["status"], result["body"]["message"]) == (0, 400, message)


@pytest.mark.parametrize("body, headers", [
    ({**DRY, "dryRun": False}, {}),
    ({**DRY, "dryRun": False}, {"x-punctual-dry-run": "0"}),
    ({key: value for key, value in DRY.items() if key != "dryRun"}, {}),
])
def test_a_request_that_is_not_a_dry_run_is_judged_as_a_post(body, headers):
    result = prepare(body, headers=headers)
    assert (result["route"], result["status"]) == (0, 400)
    assert result["body"]["message"] == "Missing or empty field(s): postId, content."


def test_a_post_may_not_use_a_dry_run_key():
    result = prepare({**PAYLOAD, "idempotencyKey": "dry-run:abc"})
    assert (result["route"], result["status"]) == (0, 400) and "dryRun" in result["body"]["message"]


def map_dry_run(answer: dict, static=None) -> tuple[dict, dict]:
    before = json.dumps(static or {"published": {"p1:3": "urn:li:share:42"}})
    done = run_node("map_dry_run", answer, static=json.loads(before),
                    nodes={"Prepare": prepare(DRY, headers=DRY_HEADERS)})
    assert json.dumps(done["staticData"]) == before, "a dry run changed the memory of published keys"
    assert done["binary"] is None and "route" not in done["result"]
    return done["result"], done["staticData"]


@pytest.mark.parametrize("answer, expected", [
    ({"statusCode": 200, "headers": {}, "body": {"sub": "Ab12", "name": "Ada Lovelace", "picture": "https://x/p.jpg"}},
     {"dryRun": True, "linkedin": "ok", "name": "Ada Lovelace", "personUrn": "urn:li:person:Ab12", "samePerson": True}),
    ({"statusCode": 200, "headers": {}, "body": {"sub": "Ab12", "given_name": "Ada", "family_name": "Lovelace"}},
     {"dryRun": True, "linkedin": "ok", "name": "Ada Lovelace", "personUrn": "urn:li:person:Ab12", "samePerson": True}),
    ({"statusCode": 200, "headers": {}, "body": {}},
     {"dryRun": True, "linkedin": "ok", "name": None, "personUrn": None, "samePerson": None}),
    ({"statusCode": 401, "headers": {},
      "body": {"status": 401, "message": "Invalid access token", "code": "INVALID_ACCESS_TOKEN"}},
     {"dryRun": True, "linkedin": "token rejected", "linkedinStatus": 401,
      "message": 'LinkedIn refused the access token (401: "Invalid access token"): it expired or was revoked. '
                 "Reconnect LinkedIn in Punctual."}),
    ({"statusCode": 401, "headers": {}, "body": ""},
     {"dryRun": True, "linkedin": "token rejected", "linkedinStatus": 401,
      "message": "LinkedIn refused the access token (401): it expired or was revoked. "
                 "Reconnect LinkedIn in Punctual."}),
])
def test_linkedins_userinfo_answer_becomes_the_dry_runs_verdict(answer, expected):
    result, _ = map_dry_run(answer)
    assert result == {"status": 200, "body": expected}


@pytest.mark.parametrize("answer, verdict, linkedin_status, words", [
    ({"statusCode": 403, "headers": {}, "body": {"message": "Not enough permissions to access: GET /userinfo"}},
     "token rejected", 403, "openid and profile scopes"),
    ({"statusCode": 400, "headers": {}, "body": {}}, "token rejected", 400, "Reconnect LinkedIn"),
    ({"statusCode": 429, "headers": {"retry-after": "60"}, "body": {}}, "unreachable", 429, "rate limit"),
    ({"statusCode": 500, "headers": {}, "body": {"message": "Internal"}}, "unreachable", 500, "LinkedIn answered 500"),
    ({"statusCode": 503, "headers": {}, "body": ""}, "unreachable", 503, "LinkedIn answered 503"),
    ({"error": {"message": "timeout of 10000ms exceeded", "code": "ECONNABORTED"}}, "unreachable", None,
     "(it timed out)"),
    ({"error": {"message": "getaddrinfo ENOTFOUND api.linkedin.com", "code": "ENOTFOUND"}}, "unreachable", None,
     "(no connection)"),
    ({}, "unreachable", None, "(no connection)"),
])
def test_a_token_linkedin_would_not_read_or_a_linkedin_that_gave_no_verdict(answer, verdict, linkedin_status, words):
    result, _ = map_dry_run(answer)
    assert result["status"] == 200 and result["body"]["dryRun"] is True
    assert result["body"]["linkedin"] == verdict and result["body"].get("linkedinStatus") == linkedin_status
    assert words in result["body"]["message"] and "AQV-token" not in json.dumps(result)
    assert "ENOTFOUND" not in result["body"]["message"]


def test_a_token_of_another_member_is_ok_for_linkedin_but_said_plainly():
    result, _ = map_dry_run({"statusCode": 200, "headers": {}, "body": {"sub": "Zz99", "name": "Someone Else"}})
    body = result["body"]
    assert (body["linkedin"], body["samePerson"], body["personUrn"]) == ("ok", False, "urn:li:person:Zz99")
    assert "not to urn:li:person:Ab12" in body["message"]


# Image URLs: every literal internal spelling is refused before anything is downloaded. Punctual's
# own validator gives the same verdicts on the same tables (tests/test_image_urls.py).
REFUSED_IMAGE_URLS = [
    ("http://127.0.0.1/a.png", "a loopback address"),
    ("http://2130706433/a.png", "a loopback address"),          # decimal
    ("http://0x7f000001/a.png", "a loopback address"),          # hex
    ("http://0177.0.0.1/a.png", "a loopback address"),          # octal
    ("http://127.1/a.png", "a loopback address"),               # short form
    ("http://127.0.0.1./a.png", "a loopback address"),          # trailing dot
    ("http://0x7f.1/a.png", "a loopback address"),              # hex, short form
    ("http://0x7F.0X0.0.01/a.png", "a loopback address"),       # mixed radixes
    ("http://017700000001/a.png", "a loopback address"),        # one octal number
    ("http://0xa9fea9fe/latest/meta-data/", "a link-local address"),  # hex 169.254.169.254
    ("http://2852039166/latest/meta-data/", "a link-local address"),  # decimal 169.254.169.254
    ("http://127\u30020\u30020\u30021/a.png", "a non-ASCII host name"),  # ideographic full stops
    ("http://\uff11\uff12\uff17.0.0.1/a.png", "a non-ASCII host name"),  # full-width digits
    ("http://%31%32%37.0.0.1/a.png", "a host name that cannot be read"),  # percent-encoded
    ("http://127.0.0.1\\@media.licdn.com/a.png", "backslashes"),
    ("http://media.licdn.com\\@127.0.0.1/a.png", "backslashes"),
    ("http://127.0.0.\n1/a.png", "control characters"),
    ("http://127.0.0.1\t/a.png", "control characters"),
    ("http:127.0.0.1/a.png", "is not a valid URL"),             # WHATWG would read a host here
    ("http:/127.0.0.1/a.png", "is not a valid URL"),
    ("http:///127.0.0.1/a.png", "is not a valid URL"),
    ("http://1.2.3.4.5/a.png", "is not a valid URL"),
    ("http://foo.09/a.png", "is not a valid URL"),             # ends in a number, but not an address
    ("http://[::ffff:127.0.0.1]:80/a.png", "a loopback address (IPv4-mapped)"),
    ("http://[1:2:3:4:5:6:7:8::]/a.png", "an IPv6 host that cannot be read"),
    ("http://media.licdn.com:99999/x.png", "is not a valid URL"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("http://10.1.2.3/a.png", "a private address"),
    ("http://172.16.0.1/a.png", "a private address"),
    ("http://172.31.255.255/a.png", "a private address"),
    ("http://192.168.1.10/a.png", "a private address"),
    ("http://100.64.0.1/a.png", "a shared (carrier-grade NAT) address"),
    ("http://0.0.0.0/a.png", "an unspecified"),
    ("http://0/a.png", "an unspecified"),
    ("http://224.0.0.1/a.png", "a multicast address"),
    ("http://239.255.255.250/a.png", "a multicast address"),
    ("http://240.0.0.1/a.png", "a reserved address"),
    ("http://255.255.255.255/a.png", "a reserved address"),
    ("http://192.0.2.1/a.png", "a reserved (documentation) address"),
    ("http://198.18.0.1/a.png", "a reserved (benchmarking) address"),
    ("http://[::1]/a.png", "a loopback address"),
    ("http://[0:0:0:0:0:0:0:1]/a.png", "a loopback address"),
    ("http://[::]/a.png", "an unspecified address"),
    ("http://[::ffff:127.0.0.1]/a.png", "a loopback address (IPv4-mapped)"),
    ("http://[::ffff:7f00:1]/a.png", "a loopback address (IPv4-mapped)"),
    ("http://[::ffff:169.254.169.254]/a.png", "a link-local address (IPv4-mapped)"),
    ("http://[::ffff:10.0.0.1]/a.png", "a private address (IPv4-mapped)"),
    ("http://[::127.0.0.1]/a.png", "a reserved address"),           # IPv4-compatible (deprecated)
    ("http://[64:ff9b::a9fe:a9fe]/a.png", "a link-local address (NAT64)"),
    ("http://[2002:7f00:1::]/a.png", "a loopback address (6to4)"),
    ("http://[fe80::1]/a.png", "a link-local address"),
    ("http://[fc00::1]/a.png", "a private (unique local) address"),
    ("http://[fd12:3456:789a::1]/a.png", "a private (unique local) address"),
    ("http://[fec0::1]/a.png", "a private (site-local) address"),
    ("http://[ff02::1]/a.png", "a multicast address"),
    ("http://[2001:db8::1]/a.png", "a reserved (documentation) address"),
    ("http://[2001::1]/a.png", "a reserved (IETF protocol) address"),   # Teredo
    ("http://[100::1]/a.png", "a reserved address"),
    ("http://localhost/a.png", "a local host name"),
    ("http://LOCALHOST./a.png", "a local host name"),
    ("http://localhost:5678/webhook/x", "a local host name"),
    ("http://n8n.localhost/a.png", "a local host name"),
    ("http://printer.local/a.png", "a local host name"),
    ("http://metadata.google.internal/a.png", "a local host name"),
    ("http://intranet/a.png", "a single-label host name"),
    ("http://intranet./a.png", "a single-label host name"),
    ("http://a..b/a.png", "a host name that cannot be read"),
    ("http://user:secret@media.licdn.com/x.png", "must not carry a user name or password"),
    ("http://user@media.licdn.com/x.png", "must not carry a user name or password"),
    ("ftp://media.licdn.com/x.png", "must start with http:// or https://"),
    ("file:///etc/passwd", "must start with http:// or https://"),
    ("data:image/png;base64,iVBORw0KGgo=", "must start with http:// or https://"),
    ("gopher://127.0.0.1:6379/_INFO", "must start with http:// or https://"),
    ("http://256.0.0.1/a.png", "is not a valid URL"),
    ("http://[fe80::1%25eth0]/a.png", "an IPv6 host that cannot be read"),
    ("not-a-url", "is not a valid URL"),
    ("media.licdn.com/x.png", "is not a valid URL"),
    ("https://media.licdn.com/" + "x" * 2048, "at most 2,048 characters"),
]


@pytest.mark.parametrize("url, reason", REFUSED_IMAGE_URLS)
def test_an_image_url_to_an_internal_or_odd_host_is_refused_before_any_download(url, reason):
    result = prepare({**PAYLOAD, "imageUrl": url})
    assert (result["route"], result["status"]) == (0, 400)
    message = result["body"]["message"]
    assert message.startswith("The image URL ") and reason in message and message.endswith("; nothing was posted.")


PUBLIC_IMAGE_URLS = [
    ("https://media.licdn.com/x.png", "https://media.licdn.com/x.png"),
    ("http://93.184.216.34/a.png", "http://93.184.216.34/a.png"),
    ("HTTPS://Media.Licdn.COM/x.png?w=1", "https://media.licdn.com/x.png?w=1"),
    ("https://example.com./a.png", "https://example.com./a.png"),
    ("http://8.8.8.8:8080/a.png", "http://8.8.8.8:8080/a.png"),
    ("http://172.32.0.1/a.png", "http://172.32.0.1/a.png"),           # just outside 172.16/12
    ("http://[2606:2800:220:1:248:1893:25c8:1946]/a.png", "http://[2606:2800:220:1:248:1893:25c8:1946]/a.png"),
    ("http://[::ffff:93.184.216.34]/a.png", "http://[0:0:0:0:0:ffff:5db8:d822]/a.png"),
    ("http://[2606:2800:220:1::1]:8080/a.png", "http://[2606:2800:220:1:0:0:0:1]:8080/a.png"),
    ("http://0x5db8d822/a.png", "http://93.184.216.34/a.png"),     # a public address in hex
    ("http://1572395042/a.png?x=127.0.0.1", "http://93.184.216.34/a.png?x=127.0.0.1"),
    ("  https://media.licdn.com/x.png  ", "https://media.licdn.com/x.png"),
    ("https://media.licdn.com", "https://media.licdn.com/"),
    ("https://media.licdn.com:443/a b.png", None),
    ("https://media.licdn.com/dms/image/D4E/img_1.png?e=1&v=beta&t=a@b", "https://media.licdn.com/dms/image/D4E/img_1.png?e=1&v=beta&t=a@b"),
    ("https://xn--bcher-kva.example.com/a.png", "https://xn--bcher-kva.example.com/a.png"),
    ("https://my_cdn.example.com/a.png", "https://my_cdn.example.com/a.png"),
]


@pytest.mark.parametrize("url, fetched", PUBLIC_IMAGE_URLS)
def test_a_public_image_url_passes_and_is_fetched_in_its_normalised_form(url, fetched):
    result = prepare({**PAYLOAD, "imageUrl": url})
    if fetched is None:  # a space inside: refused, though the host is public
        assert (result["route"], result["status"]) == (0, 400)
        return
    assert (result["route"], result["imageUrl"]) == (2, fetched)


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0x7f000001/", "http://0177.0.0.1/", "http://127.1/", "http://0x7F.0X0.0.01/",
    "http://017700000001/", "http://0xa9fea9fe/", "http://1572395042/", "http://[::ffff:127.0.0.1]/",
    "http://[::127.0.0.1]/", "https://MEDIA.licdn.com./x", "http://1.2.3/", "http://0x5db8d822:8080/a?b#c",
])
def test_the_host_is_read_as_node_s_whatwg_url_parser_reads_it(url):
    """The download (axios) parses the URL with Node's WHATWG URL: the host the workflow judged and
    the URL it passes on must be what that parser makes of the URL as Punctual sent it."""
    node = shutil.which("node") or need("Node.js (`node`) is not installed")
    whatwg = subprocess.run([node, "-e", "const u = new URL(process.argv[1]); console.log(u.hostname)", url],
                            capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    result = prepare({**PAYLOAD, "imageUrl": url})
    if result["route"] == 2:
        rebuilt = subprocess.run([node, "-e", "console.log(new URL(process.argv[1]).hostname)", result["imageUrl"]],
                                 capture_output=True, text=True, timeout=30, check=True).stdout.strip()
        assert rebuilt == whatwg
    else:
        message = result["body"]["message"]
        mapped = whatwg.startswith(("[::ffff:", "[::7f00"))
        assert whatwg.startswith(("127.", "169.254.")) or mapped, (url, whatwg, message)


DIFFERENTIAL = r"""
// Random hosts made of the pieces IPv4 spellings are made of. For each: if Prepare lets the URL
// through, Node's WHATWG parser (what the download uses) must read the same host from the URL as
// sent and from the URL Prepare passes on, and that host must not be an internal IPv4 address.
const vm = require('vm');
const code = require('fs').readFileSync(0, 'utf8');
let seed = 20261202;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed % n; };
const pieces = ['0', '1', '7', '9', '127', '0x', '0X7f', '00', '.', '.', '.', '255', '256', '10', '169', '254', 'a',
  'ff', 'x', '0177', '4294967295', '4294967296', '2130706433', '-', 'com', 'localhost', ':', '%', '@', '\\', '/'];
const internal = (h) => {
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(h)) return false;
  const [a, b] = h.split('.').map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b < 32)
    || (a === 192 && b === 168) || (a === 100 && b >= 64 && b < 128);
};
const problems = [];
let accepted = 0;
for (let i = 0; i < 5000; i++) {
  let host = '';
  for (let j = 0, n = 1 + rnd(6); j < n; j++) host += pieces[rnd(pieces.length)];
  const url = `http://${host}/a.png`;
  const body = { postId: 'p', accessToken: 't', personUrn: 'urn:li:person:a', content: 'c',
                 idempotencyKey: 'k', imageUrl: url };
  const context = vm.createContext({ $json: { body, headers: {} }, $env: {},
                                     $getWorkflowStaticData: () => ({}), $: () => ({}) });
  const out = vm.runInContext(`(function () {${code}\n})()`, context).json;
  if (out.route !== 2) continue;
  accepted += 1;
  let sent = null, passed = null;
  try { sent = new URL(url); passed = new URL(out.imageUrl); }
  catch (e) { problems.push([url, 'unparsable']); continue; }
  if (sent.hostname !== passed.hostname || sent.port !== passed.port || sent.pathname !== passed.pathname)
    problems.push([url, passed.href]);
  if (internal(sent.hostname)) problems.push([url, sent.hostname]);
}
process.stdout.write(JSON.stringify({ accepted, problems: problems.slice(0, 10) }));
"""


def test_random_ipv4_spellings_are_read_as_the_download_reads_them():
    node = shutil.which("node") or need("Node.js (`node`) is not installed")
    done = subprocess.run([node, "-e", DIFFERENTIAL], input=builder.code("prepare"), capture_output=True, text=True,
                          timeout=60, check=True)
    result = json.loads(done.stdout)
    assert result["problems"] == [] and result["accepted"] > 50


@pytest.mark.parametrize("value", [None, ""])
def test_no_image_url_means_a_post_without_an_image(value):
    result = prepare({**PAYLOAD, "imageUrl": value})
    assert (result["route"], result["imageUrl"]) == (1, None)


INIT_OK = {"statusCode": 200, "headers": {},
           "body": {"value": {"uploadUrl": "https://up/1", "image": "urn:li:image:1"}}}
PNG = {"data": {"mimeType": "image/png", "fileName": "a.png", "fileSize": "70 B", "id": "filesystem-v2:x"}}


def check_image(download: dict, *, init=INIT_OK, binary=None) -> dict:
    return run_node("check_image", download, binary=binary,
                    nodes={"LinkedIn: initialize image upload": init})


@pytest.mark.parametrize("download, binary, status, reason", [
    ({"statusCode": 404, "headers": {"server": "nginx/1.18 on build-box-7"}}, {"data": {"mimeType": "text/html"}},
     400, "HTTP 404"),
    ({"statusCode": 403, "headers": {}}, None, 400, "HTTP 403"),
    ({"statusCode": 302, "headers": {"location": "http://169.254.169.254/latest/meta-data/"}}, None, 400,
     "HTTP 302: it redirects, and redirects are not followed; use the image's final address"),
    ({"statusCode": 502, "headers": {}}, None, 503, "HTTP 502"),
    ({"statusCode": 200, "headers": {"content-type": "text/html"}},
     {"data": {"mimeType": "text/html", "fileName": "a.png"}}, 400, "not an image"),
    ({"statusCode": 200, "headers": {}}, None, 400, "not an image"),
    ({"error": {"message": "timeout of 15000ms exceeded", "code": "ECONNABORTED",
                "description": "GET http://img.corp.example:8080/a.png"}}, None, 503, "timeout"),
    ({"error": {"message": "connect ECONNREFUSED 10.0.0.5:6379", "code": "ECONNREFUSED",
                "stack": "Error: connect ECONNREFUSED 10.0.0.5:6379\n at TCPConnectWrap"}}, None, 503, "no connection"),
    ({"error": {"message": "getaddrinfo ENOTFOUND secret-db.corp.example"}}, None, 503, "no connection"),
    ({"error": "socket hang up"}, None, 503, "no connection"),
])
def test_a_failed_download_is_told_in_a_short_reason_only(download, binary, status, reason):
    result = check_image(download, binary=binary)["result"]
    assert (result["route"], result["status"]) == (0, status)
    assert result["body"] == {"message": f"The image could not be downloaded ({reason}); nothing was posted."}
    assert ("retryAfter" in result) == (status == 503)
    said = json.dumps(result)
    for leak in ("10.0.0.5", "6379", "corp.example", "nginx", "ECONN", "ENOTFOUND", "TCPConnectWrap", "build-box"):
        assert leak not in said


def test_a_downloaded_image_goes_on_to_the_upload_with_its_bytes():
    done = check_image({"statusCode": 200, "headers": {"content-type": "image/png"}}, binary=PNG)
    assert done["result"] == {"route": 1} and done["binary"] == PNG


@pytest.mark.parametrize("init, status", [
    ({"statusCode": 401, "headers": {}, "body": {}}, 401),
    ({"statusCode": 429, "headers": {"retry-after": "9"}, "body": {}}, 429),
    ({"statusCode": 422, "headers": {}, "body": {"message": "bad owner"}}, 422),
    ({"statusCode": 500, "headers": {}, "body": {}}, 503),
    ({"error": {"message": "connect ECONNREFUSED 127.0.0.1:443"}}, 503),
])
def test_a_refused_image_registration_is_answered_before_any_upload(init, status):
    result = check_image({"statusCode": 200, "headers": {}}, init=init, binary=PNG)["result"]
    assert (result["route"], result["status"]) == (0, status) and "ECONNREFUSED" not in json.dumps(result)


def test_the_uploaded_image_is_attached_to_the_post_or_the_failure_is_retryable():
    prepared = prepare({**PAYLOAD, "imageUrl": "https://media.licdn.com/x.png"})
    nodes = {"Prepare": prepared, "LinkedIn: initialize image upload": INIT_OK}
    done = run_node("attach_image", {"statusCode": 201, "headers": {}}, nodes=nodes)["result"]
    assert done["route"] == 1 and done["request"]["content"] == {"media": {"id": "urn:li:image:1"}}
    failed = run_node("attach_image", {"error": {"message": "connect ETIMEDOUT 1.2.3.4:443"}}, nodes=nodes)["result"]
    assert (failed["route"], failed["status"], failed["retryAfter"]) == (0, 503, "30")
    assert "ETIMEDOUT" not in failed["body"]["message"]


def classify_status(status: int, retry_after: str | None) -> str:
    """How Punctual's dispatcher classifies the workflow's answer (webapp.dispatch.retry)."""
    now = datetime(2026, 11, 28, 12, tzinfo=timezone.utc)
    verdict = decide(SendResult.answered(status, "detail", float(retry_after) if retry_after else None),
                     attempt=1, scheduled_at=now, now=now, policy=RetryPolicy())
    return {"confirm": "sent", "retry_later": "retry"}.get(verdict.action, verdict.kind)


def test_the_fake_linkedin_of_the_e2e_reads_the_member_refuses_a_revoked_token_and_proxies_images():
    """scripts/fake_linkedin.py stands in for LinkedIn and image hosts in scripts/n8n-e2e.sh."""
    import threading
    from http.client import HTTPConnection
    from http.server import ThreadingHTTPServer

    import fake_linkedin  # scripts/ is on sys.path

    state = fake_linkedin.State(None)
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake_linkedin.handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def get(path: str, token: str | None = None) -> tuple[int, bytes]:
        conn = HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = conn.getresponse()
        status, body = response.status, response.read()
        conn.close()
        return status, body

    try:
        status, body = get("/v2/userinfo", "AQV-good")
        assert status == 200 and json.loads(body)["sub"] == "E2eAda42" and json.loads(body)["name"] == "Ada Lovelace"
        status, body = get("/v2/userinfo", "REVOKED-x")
        assert status == 401 and json.loads(body)["code"] == "REVOKED_ACCESS_TOKEN"
        assert get("/v2/userinfo")[0] == 401
        assert get("http://images.example.com/a.png")[1].startswith(b"\x89PNG")
        assert get("http://images.example.com/missing.png")[0] == 404
        assert get("http://images.example.com/redirect.png")[0] == 302
        calls = json.loads(get("/_calls")[1])
        assert calls["userinfo"] == ["ok", "refused", "refused"] and len(calls["proxied"]) == 3
    finally:
        server.shutdown()
        server.server_close()
