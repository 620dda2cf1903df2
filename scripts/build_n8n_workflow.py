"""Builds docs/n8n/punctual-linkedin-workflow.json (the importable n8n workflow) from the node
layout below and the Code nodes' JavaScript in docs/n8n/code/. Run it after changing either:

    .venv/bin/python scripts/build_n8n_workflow.py

tests/test_n8n_workflow.py fails when the committed JSON differs from what this builds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N8N = ROOT / "docs" / "n8n"
OUTPUT = N8N / "punctual-linkedin-workflow.json"
WORKFLOW_ID = "PunctualLinkedIn01"
CREDENTIAL = {"id": "PunctualWebhook01", "name": "Punctual webhook secret"}
WEBHOOK_PATH = "linkedin-post"


def code(name: str) -> str:
    return (N8N / "code" / f"{name}.js").read_text()


def node(n: int, name: str, type_: str, version, x: int, y: int, parameters: dict, **extra) -> dict:
    return {"id": f"7c1d0000-0000-4000-8000-{n:012d}", "name": name, "type": f"n8n-nodes-base.{type_}",
            "typeVersion": version, "position": [x, y], "parameters": parameters, **extra}


def linkedin_headers(token: str) -> dict:
    return {"parameters": [
        {"name": "Authorization", "value": f"=Bearer {{{{ {token} }}}}"},
        {"name": "LinkedIn-Version", "value": "={{ $('Prepare').item.json.linkedinVersion }}"},
        {"name": "X-Restli-Protocol-Version", "value": "2.0.0"},
    ]}


FULL_RESPONSE = {"response": {"response": {"fullResponse": True, "neverError": True}}}


def workflow() -> dict:
    prepared = "$('Prepare').item.json"
    nodes = [
        node(1, "Webhook", "webhook", 2, 0, 200, {
            "httpMethod": "POST", "path": WEBHOOK_PATH, "authentication": "headerAuth",
            "responseMode": "responseNode", "options": {},
        }, webhookId="7c1d0000-0000-4000-8000-0000000000aa", credentials={"httpHeaderAuth": CREDENTIAL}),
        node(2, "Prepare", "code", 2, 220, 200, {"mode": "runOnceForEachItem", "jsCode": code("prepare")}),
        node(3, "Route", "switch", 3, 440, 200, {
            "mode": "expression", "numberOutputs": 4, "output": "={{ $json.route }}",
        }),
        node(4, "LinkedIn: initialize image upload", "httpRequest", 4.2, 660, 420, {
            "method": "POST", "url": f"={{{{ {prepared}.baseUrl }}}}/rest/images?action=initializeUpload",
            "sendHeaders": True, "headerParameters": linkedin_headers(f"{prepared}.accessToken"),
            "sendBody": True, "specifyBody": "json",
            "jsonBody": f"={{{{ JSON.stringify({{ initializeUploadRequest: {{ owner: {prepared}.personUrn }} }}) }}}}",
            "options": {**FULL_RESPONSE, "timeout": 15000},
        }, onError="continueRegularOutput"),
        # The image URL passed Prepare's check of literal hosts; redirects are not followed, since a
        # redirect could lead anywhere, including inside n8n's network.
        node(5, "Download image", "httpRequest", 4.2, 880, 420, {
            "url": f"={{{{ {prepared}.imageUrl }}}}",
            "options": {
                "redirect": {"redirect": {"followRedirects": False}},
                "response": {"response": {"fullResponse": True, "neverError": True, "responseFormat": "file"}},
                "timeout": 15000,
            },
        }, onError="continueRegularOutput"),
        node(12, "Check the image", "code", 2, 1100, 420,
             {"mode": "runOnceForEachItem", "jsCode": code("check_image")}),
        node(13, "Image downloaded?", "switch", 3, 1320, 420, {
            "mode": "expression", "numberOutputs": 2, "output": "={{ $json.route }}",
        }),
        node(6, "LinkedIn: upload image", "httpRequest", 4.2, 1540, 520, {
            "method": "PUT", "url": "={{ $('LinkedIn: initialize image upload').item.json.body.value.uploadUrl }}",
            "sendHeaders": True, "headerParameters": {"parameters": [
                {"name": "Authorization", "value": f"=Bearer {{{{ {prepared}.accessToken }}}}"}]},
            "sendBody": True, "contentType": "binaryData", "inputDataFieldName": "data",
            "options": {**FULL_RESPONSE, "timeout": 15000},
        }, onError="continueRegularOutput"),
        node(7, "Attach image", "code", 2, 1760, 520, {"mode": "runOnceForEachItem", "jsCode": code("attach_image")}),
        node(8, "Image ready?", "switch", 3, 1980, 520, {
            "mode": "expression", "numberOutputs": 2, "output": "={{ $json.route }}",
        }),
        node(9, "LinkedIn: create post", "httpRequest", 4.2, 2200, 200, {
            "method": "POST", "url": "={{ $json.baseUrl }}/rest/posts",
            "sendHeaders": True, "headerParameters": linkedin_headers("$json.accessToken"),
            "sendBody": True, "specifyBody": "json", "jsonBody": "={{ JSON.stringify($json.request) }}",
            "options": {**FULL_RESPONSE, "timeout": 20000},
        }, onError="continueRegularOutput"),
        node(10, "Map LinkedIn's answer", "code", 2, 2420, 200,
             {"mode": "runOnceForEachItem", "jsCode": code("map_answer")}),
        # A dry run (Punctual's pipeline check): one cheap read with the member's token, no post.
        node(14, "LinkedIn: who am I", "httpRequest", 4.2, 660, 640, {
            "url": f"={{{{ {prepared}.baseUrl }}}}/v2/userinfo",
            "sendHeaders": True, "headerParameters": {"parameters": [
                {"name": "Authorization", "value": f"=Bearer {{{{ {prepared}.accessToken }}}}"}]},
            "options": {**FULL_RESPONSE, "timeout": 10000},
        }, onError="continueRegularOutput"),
        node(15, "Map the dry run", "code", 2, 880, 640,
             {"mode": "runOnceForEachItem", "jsCode": code("map_dry_run")}),
        node(11, "Answer Punctual", "respondToWebhook", 1.1, 2640, 0, {
            "respondWith": "json", "responseBody": "={{ JSON.stringify($json.body) }}",
            "options": {"responseCode": "={{ $json.status }}", "responseHeaders": {"entries": [
                {"name": "Retry-After", "value": "={{ $json.retryAfter || '' }}"}]}},
        }),
    ]

    def to(*targets):
        return {"main": [[{"node": t, "type": "main", "index": 0}] if t else [] for t in targets]}

    connections = {
        "Webhook": to("Prepare"),
        "Prepare": to("Route"),
        "Route": to("Answer Punctual", "LinkedIn: create post", "LinkedIn: initialize image upload",
                    "LinkedIn: who am I"),
        "LinkedIn: initialize image upload": to("Download image"),
        "Download image": to("Check the image"),
        "Check the image": to("Image downloaded?"),
        "Image downloaded?": to("Answer Punctual", "LinkedIn: upload image"),
        "LinkedIn: upload image": to("Attach image"),
        "Attach image": to("Image ready?"),
        "Image ready?": to("Answer Punctual", "LinkedIn: create post"),
        "LinkedIn: create post": to("Map LinkedIn's answer"),
        "Map LinkedIn's answer": to("Answer Punctual"),
        "LinkedIn: who am I": to("Map the dry run"),
        "Map the dry run": to("Answer Punctual"),
    }
    return {
        "id": WORKFLOW_ID,
        "name": "Punctual → LinkedIn",
        "active": False,
        "settings": {"executionOrder": "v1", "saveDataSuccessExecution": "none"},
        "nodes": nodes,
        "connections": connections,
        "pinData": {},
        "meta": {"templateCredsSetupCompleted": False},
    }


def render() -> str:
    return json.dumps(workflow(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    OUTPUT.write_text(render())
    print(f"wrote {OUTPUT.relative_to(ROOT)}", file=sys.stderr)
