"""A Lambda-style bootstrap for a built Vercel function, run with the function's Python (3.12).

It is what a runtime does with the bundle: put the folders on `sys.path` in the order asked for,
`import vc__handler__python` (Vercel's trampoline, which adds `_vendor` and imports the app),
then hand each request to `vc_handler(event, context)`, the Lambda entry point.

Standard library only: it must not see the project's own virtualenv. Requests arrive on stdin,
one JSON object a line ({method, path, headers, body}); answers leave on stdout, one a line
({status, headers, body, seconds}). The first line out says where `webapp` was imported from and
how long the import took; the first answer also carries `sinceImport`, the cold start.

    python3.12 -s vercel_probe.py --root FUNCTION_DIR --order root|vendor|runtime
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time

ORDERS = ("root", "vendor", "runtime")


def interpreter_paths() -> list[str]:
    """The interpreter's own standard library entries: no site-packages, no script folder."""
    prefixes = {sys.base_prefix, sys.prefix}
    return [p for p in sys.path[1:]
            if any(p.startswith(prefix) for prefix in prefixes) and "-packages" not in p]


def search_path(order: str, root: str, runtime: str) -> list[str]:
    """sys.path before the trampoline runs, in each of the orders a runtime may use."""
    stdlib = interpreter_paths()
    if order == "root":  # `python /var/task/vc__handler__python.py`, or a runtime that cds there
        return [root, *stdlib]
    if order == "vendor":  # PYTHONPATH=_vendor ahead of everything, the function's folder last
        return [os.path.join(root, "_vendor"), *stdlib, root]
    # a bootstrap living in its own folder, with the task root appended last (AWS Lambda's layout)
    return [runtime, *stdlib, root]


def event_for(request: dict) -> dict:
    body = (request.get("body") or "").encode()
    return {"body": json.dumps({
        "method": request["method"], "path": request["path"], "headers": request.get("headers", {}),
        "body": base64.b64encode(body).decode(), "encoding": "base64",
    })}


def answer_from(result: dict) -> dict:
    body = result.get("body") or ""
    if result.get("encoding") == "base64":
        body = base64.b64decode(body).decode("utf-8", "replace")
    headers = {name.lower(): values[-1] for name, values in (result.get("headers") or {}).items()}
    return {"status": result["statusCode"], "headers": headers, "body": body}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--order", choices=ORDERS, required=True)
    args = parser.parse_args()
    root = os.path.abspath(args.root)
    runtime = os.path.dirname(os.path.abspath(__file__))

    # Answers go to the real stdout; anything the app or the runtime prints goes to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.dont_write_bytecode = True
    os.chdir(root)  # a function runs with its own folder as the working directory
    sys.path[:] = search_path(args.order, root, runtime)

    started = time.monotonic()
    import vc__handler__python  # imported late: its import is what is timed
    imported = time.monotonic()
    webapp = sys.modules.get("webapp")
    out.write(json.dumps({
        "importSeconds": imported - started,
        "webapp": getattr(webapp, "__file__", None),
        "python": sys.version.split()[0],
        "sysPath": sys.path,
    }) + "\n")

    first = True
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        t = time.monotonic()
        answer = answer_from(vc__handler__python.vc_handler(event_for(request), None))
        done = time.monotonic()
        answer["seconds"] = done - t
        if first:
            answer["sinceImport"] = done - started
            first = False
        out.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
