"""The OpenAPI contract in the tests: every answer the test client gets from /api is checked
against webapp/api/openapi.py (its status is one the operation lists, its body matches that
answer's schema, a 204 has no body), so a test of the API also tests its description."""

from __future__ import annotations

import re
from collections import Counter
from functools import cache
from typing import Any

import jsonschema_rs
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.test import TestResponse
from werkzeug.wrappers import Response

from webapp.api.openapi import document

#: Flask's `<post_id>` / `<int:n>` -> OpenAPI's `{post_id}`.
FLASK_PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
UNCHECKED_METHODS = frozenset({"HEAD", "OPTIONS"})
#: What the Schemathesis run did (tests/test_openapi.py), for the summary line tests/conftest.py prints.
FUZZ_COUNTS: Counter[str] = Counter()


def openapi_path(flask_rule: str) -> str:
    return FLASK_PARAM.sub(r"{\1}", flask_rule)


@cache
def validator(pointer: str) -> Any:
    """A validator for the schema at this JSON pointer of the document (refs resolve in it)."""
    doc = document()
    schema: Any = doc
    for part in pointer.strip("/").split("/"):
        schema = schema[part.replace("~1", "/").replace("~0", "~")]
    return jsonschema_rs.validator_for({**schema, "components": doc["components"]}, validate_formats=True)


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def contract_errors(app: Flask, method: str, path: str, response: Response) -> list[str]:
    """What is wrong with this answer according to the document (empty: nothing)."""
    if not path.startswith("/api/") or method in UNCHECKED_METHODS:
        return []
    try:
        rule, _ = app.url_map.bind("localhost").match(path, method=method, return_rule=True)
    except HTTPException:  # no such operation (404, 405): still an error sentence
        schema_pointer = "/components/schemas/Error"
        where = f"{method} {path} (no operation)"
    else:
        template = openapi_path(rule.rule)
        op = document()["paths"].get(template, {}).get(method.lower())
        if op is None:
            return [f"{method} {template} is a route but not in the OpenAPI document"]
        status = str(response.status_code)
        if status not in op["responses"]:
            return [f"{method} {path} answered {status}; its operation lists only "
                    f"{', '.join(op['responses'])} ({response.get_data(as_text=True)[:200]})"]
        where = f"{method} {path} -> {status}"
        if "content" not in op["responses"][status]:
            return [] if not response.data else [f"{where}: documented without a body, got one"]
        schema_pointer = (f"/paths/{_escape(template)}/{method.lower()}/responses/{status}"
                          "/content/application~1json/schema")
    if response.mimetype != "application/json":
        return [f"{where}: answered {response.mimetype}, not JSON"]
    body = response.get_json(silent=True)
    return [f"{where}: {error.message} at {list(error.instance_path)}"
            for error in validator(schema_pointer).iter_errors(body)]


class ContractClient(FlaskClient):
    """Flask's test client that fails the test on any /api answer the document does not allow."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        response = super().open(*args, **kwargs)
        request = response.request
        problems = contract_errors(self.application, request.method, request.path, response)
        assert not problems, "the answer breaks the OpenAPI document: " + "; ".join(problems)
        return response
