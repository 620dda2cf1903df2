"""One request, served by a process that starts cold: what a serverless function does on its
first request. Used by bench/qstash_path.py, which starts one of these per delivery.

Reads the request as JSON on stdin ({method, path, query, headers, body_b64}), imports
webapp.wsgi (the app in the configuration the environment gives), calls the app once through
WSGI, and prints the answer as JSON ({status, headers, body_b64, import_s, handle_s}).
"""

import time

_started = time.perf_counter()

import base64  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def main() -> None:
    request = json.loads(sys.stdin.read())
    t0 = time.perf_counter()
    from webapp.wsgi import app  # the cold start: everything a fresh instance imports and builds

    t1 = time.perf_counter()
    body = base64.b64decode(request["body_b64"])
    host, _, port = request["host"].partition(":")
    environ = {
        "REQUEST_METHOD": request["method"], "SCRIPT_NAME": "", "PATH_INFO": request["path"],
        "QUERY_STRING": request.get("query", ""), "SERVER_NAME": host, "SERVER_PORT": port or "80",
        "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr, "wsgi.multithread": False, "wsgi.multiprocess": True, "wsgi.run_once": True,
    }
    for name, value in request["headers"].items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = headers
        return lambda data: None

    chunks = app(environ, start_response)
    try:
        data = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    t2 = time.perf_counter()
    answer.update(body_b64=base64.b64encode(data).decode(), import_s=t1 - t0, handle_s=t2 - t1,
                  before_import_s=t0 - _started)
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
