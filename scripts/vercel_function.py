"""Check what `vercel build` made of the repository, and run the built function as a runtime does.

    python scripts/vercel_function.py inspect SOURCE
    python scripts/vercel_function.py smoke SOURCE --python PYTHON3.12 --database-url URL [--cold-starts N]

SOURCE is the folder `vercel build` ran in (its output is SOURCE/.vercel/output); scripts/vercel-check.sh
calls both. `inspect` needs only the standard library. `smoke` runs with the project's virtualenv:
it migrates a fresh Postgres schema and seeds it with the project's own code, then starts the
*built* function (not the repository) with Python 3.12 through scripts/vercel_probe.py, on a
read-only copy of the function's files, once per sys.path order, in production mode.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The application module and variable Vercel must find (pyproject's `app` script).
HANDLER_MODULE, HANDLER_VARIABLE = "webapp.wsgi", "app"
#: What the function may hold at its top level: the code, its pages and files, the dependencies
#: and Vercel's trampoline. Anything else (tests, bench, docs, scripts, CI) is never run there.
SHIPPED = {"webapp", "templates", "static", "_vendor", "vc__handler__python.py"}
NEVER_SHIPPED = ("tests", "bench", "docs", "scripts", ".ci")
ORDERS = ("root", "vendor", "runtime")
APP_URL = "https://punctual.example.com"
N8N_AUTH_HEADER = "X-Punctual-Secret"
HEADERS = {"host": "punctual.example.com", "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.7",
           "user-agent": "punctual-vercel-smoke"}
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class CheckFailed(Exception):
    """The built function is not what production needs."""


# ---------------------------------------------------------------- the build output


@dataclass
class Function:
    path: Path  # the .func folder
    config: dict  # .vc-config.json
    files: dict[str, Path] = field(default_factory=dict)  # path in the bundle -> file on disk

    @property
    def name(self) -> str:
        return self.path.relative_to(self.path.parent).name.removesuffix(".func")

    def trampoline_setting(self, name: str) -> str | None:
        match = re.search(rf'"{name}": "([^"]*)"', (self.path / "vc__handler__python.py").read_text())
        return match.group(1) if match else None

    def size(self, prefix: str = "") -> tuple[int, int]:
        chosen = [f for p, f in self.files.items() if p.startswith(prefix)]
        return len(chosen), sum(f.stat().st_size for f in chosen)


def output_of(source: Path) -> Path:
    return source / ".vercel" / "output"


def functions_in(source: Path) -> list[Function]:
    found = []
    for path in sorted((output_of(source) / "functions").rglob("*.func")):
        if not path.is_dir():
            continue
        config = json.loads((path / ".vc-config.json").read_text())
        files = {}
        for bundle_path, origin in (config.get("filePathMap") or {}).items():
            files[bundle_path] = Path(origin) if os.path.isabs(origin) else source / origin
        for file in path.rglob("*"):
            if file.is_file() and file.name != ".vc-config.json":
                files[file.relative_to(path).as_posix()] = file
        found.append(Function(path, config, files))
    return found


def inspect(source: Path) -> tuple[Function, list[str]]:
    """The one function, and a sentence for everything production needs that the build got wrong."""
    output = output_of(source)
    if not (output / "config.json").is_file():
        raise CheckFailed(f"{output} has no config.json: did `vercel build` run?")
    functions = functions_in(source)
    if len(functions) != 1:
        names = ", ".join(f.path.name for f in functions) or "none"
        raise CheckFailed(f"The build made {len(functions)} functions ({names}); the app needs exactly one.")
    [function] = functions
    config = json.loads((output / "config.json").read_text())
    vercel = json.loads((source / "vercel.json").read_text())
    problems = []

    def expect(ok: bool, sentence: str) -> None:
        if not ok:
            problems.append(sentence)

    [(pattern, wanted)] = vercel["functions"].items()
    vc = function.config
    expect(vc.get("handler") == "vc__handler__python.vc_handler",
           f"The function's handler is {vc.get('handler')!r}, not Vercel's Python trampoline.")
    expect(vc.get("runtime") == "python3.12", f"The function runs {vc.get('runtime')!r}, not python3.12.")
    expect(vc.get("maxDuration") == wanted.get("maxDuration"),
           f"maxDuration is {vc.get('maxDuration')!r}, but vercel.json gives {pattern} {wanted.get('maxDuration')!r}.")
    module = function.trampoline_setting("__VC_HANDLER_MODULE_NAME")
    variable = function.trampoline_setting("__VC_HANDLER_VARIABLE_NAME")
    expect((module, variable) == (HANDLER_MODULE, HANDLER_VARIABLE),
           f"The trampoline imports {module}:{variable}, not {HANDLER_MODULE}:{HANDLER_VARIABLE}.")
    expect(config.get("crons") == vercel.get("crons"),
           f"The output's crons {config.get('crons')!r} differ from vercel.json's {vercel.get('crons')!r}.")
    expect(any(r.get("src") == "/(.*)" and r.get("dest") == f"/{function.name}" for r in config.get("routes", [])),
           f"No route sends every path (pages, /static, /api) to the function {function.name}.")

    tops = {path.split("/", 1)[0] for path in function.files}
    for name in NEVER_SHIPPED:
        expect(name not in tops, f"The function carries {name}/, which production never runs.")
    expect(not tops - SHIPPED - set(NEVER_SHIPPED),
           f"The function carries more than it runs: {', '.join(sorted(tops - SHIPPED - set(NEVER_SHIPPED)))}.")
    for folder in ("templates", "static"):
        shipped = {p for p in function.files if p.startswith(folder + "/")}
        wanted_files = {p.relative_to(source).as_posix() for p in (source / folder).rglob("*") if p.is_file()}
        missing = sorted(wanted_files - shipped)
        expect(wanted_files and not missing,
               f"{folder}/ is not shipped whole: {', '.join(missing[:5]) or 'nothing of it'} missing.")
    expect(f"{HANDLER_MODULE.replace('.', '/')}.py" in function.files, "webapp/wsgi.py is not in the function.")
    expect(not any(p.startswith("_vendor/webapp/") for p in function.files),
           "The project itself was installed into _vendor/webapp, a copy without templates/ and static/: "
           "keep `[tool.uv] package = false` in pyproject.toml.")
    return function, problems


def bundle_figures(function: Function) -> dict:
    files, size = function.size()
    vendor_files, vendor_size = function.size("_vendor/")
    bytecode = [f for p, f in function.files.items() if p.endswith(".pyc")]
    return {"files": files, "bytes": size, "vendorFiles": vendor_files, "vendorBytes": vendor_size,
            "bytecodeFiles": len(bytecode), "bytecodeBytes": sum(f.stat().st_size for f in bytecode)}


def describe(figures: dict) -> str:
    text = (f"{figures['files']:,} files, {figures['bytes'] / 1e6:.1f} MB "
            f"(_vendor: {figures['vendorFiles']:,} files, {figures['vendorBytes'] / 1e6:.1f} MB")
    if figures["bytecodeFiles"]:
        text += f"; bytecode: {figures['bytecodeFiles']:,} files, {figures['bytecodeBytes'] / 1e6:.1f} MB"
    return text + ")"


def command_inspect(args) -> int:
    try:
        function, problems = inspect(args.source)
    except CheckFailed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    figures = bundle_figures(function)
    if args.expect_bytecode and not figures["bytecodeFiles"]:
        problems.append("The build was asked for bytecode (VERCEL_PYTHON_COMPILEALL=1) and shipped none.")
    vc = function.config
    print(f"function {function.name}: {vc.get('runtime')}, maxDuration {vc.get('maxDuration')}, "
          f"{function.trampoline_setting('__VC_HANDLER_MODULE_NAME')}:{function.trampoline_setting('__VC_HANDLER_VARIABLE_NAME')}")
    print(f"bundle: {describe(figures)}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    for sentence in problems:
        print(f"FAIL: {sentence}", file=sys.stderr)
    return 1 if problems else 0


# ---------------------------------------------------------------- running the function


def read_only_works(folder: Path) -> bool:
    """Can this machine show the function its files read-only (a private mount namespace)?"""
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "-m", "--", "sh", "-c", READ_ONLY + ' && ! touch "$1/.write-test" 2>/dev/null', "sh", str(folder)],
        capture_output=True)
    return probe.returncode == 0


READ_ONLY = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1"'


def lay_out(function: Function, into: Path) -> tuple[Path, Path]:
    """The function's files as the runtime sees them (/var/task), and a runtime folder beside it."""
    task, runtime = into / "task", into / "runtime"
    for bundle_path, origin in function.files.items():
        target = task / bundle_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, target)
    runtime.mkdir()
    shutil.copy2(ROOT / "scripts" / "vercel_probe.py", runtime / "bootstrap.py")
    return task, runtime


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Probe:
    """One cold start of the function: a fresh Python 3.12 process, requests one by one."""

    def __init__(self, *, python: str, task: Path, runtime: Path, order: str, env: dict, read_only: bool):
        command = [python, "-s", str(runtime / "bootstrap.py"), "--root", str(task), "--order", order]
        if read_only:
            command = ["unshare", "-m", "--", "sh", "-c", READ_ONLY + ' && shift && exec "$@"', "sh", str(task),
                       *command]
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, cwd=task, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready: dict = {}
        try:
            self.ready = self._next("start (import vc__handler__python)")
        except CheckFailed:
            self.close()
            raise

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def _next(self, doing: str, timeout: float = 90.0) -> dict:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            line = None
        if line is None:
            raise CheckFailed(f"The function did not {doing}; its output ends with:\n{self.errors()}")
        return json.loads(line)

    def errors(self, tail: int = 4000) -> str:
        self.stderr.seek(0)
        return self.stderr.read()[-tail:]

    def request(self, method: str, path: str, *, headers: dict | None = None, body: str = "") -> dict:
        self.process.stdin.write(json.dumps({"method": method, "path": path, "body": body,
                                             "headers": {**HEADERS, **(headers or {})}}) + "\n")
        self.process.stdin.flush()
        return self._next(f"answer {method} {path}")

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Deployment:
    """A fresh Postgres schema, migrated and seeded with the repository's code, plus n8n's stand-in."""

    def __init__(self, database_url: str, secrets: dict):
        sys.path.insert(0, str(ROOT))
        import sqlalchemy as sa
        from cryptography.fernet import Fernet

        from tests.conftest import APP_ENV_VARS, postgres_schema_url
        from tests.receiver import Receiver
        from webapp.config import normalise_database_url

        for name in APP_ENV_VARS:  # the seeding app reads only what is given here
            os.environ.pop(name, None)
        self.app = self.receiver = self.instance = None
        self.schema = f"vercel_smoke_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(normalise_database_url(database_url), isolation_level="AUTOCOMMIT")
        try:
            with self.admin.connect() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        except sa.exc.OperationalError as exc:
            self.admin.dispose()
            raise CheckFailed(f"Postgres at --database-url is not reachable ({exc.orig.__class__.__name__}).") from None
        try:
            self.schema_url = postgres_schema_url(database_url, self.schema)
            self.secrets = {**secrets, "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode()}
            self.receiver = Receiver().__enter__()
            self.instance = tempfile.TemporaryDirectory(prefix="punctual-vercel-seed-")
            self.app = self._seeding_app()
        except BaseException:
            self.close()
            raise

    def _seeding_app(self):
        from tests.conftest import connect_linkedin, make_user
        from webapp import create_app, upgrade_database
        from webapp.models import utcnow

        app = create_app({
            "INSTANCE_PATH": self.instance.name, "SECRET_KEY": self.secrets["SECRET_KEY"],
            "TOKEN_ENCRYPTION_KEY": self.secrets["TOKEN_ENCRYPTION_KEY"],
            "SQLALCHEMY_DATABASE_URI": self.schema_url, "AUTO_MIGRATE": False,
            "SCHEDULER_BACKEND": "local", "LOCAL_DISPATCHER": "off", "APP_URL": APP_URL,
        })
        with app.app_context():
            upgrade_database(app)
        self.user_id = make_user(app, email="smoke@example.com", password="smoke test password")
        connect_linkedin(app, self.user_id, expires_at=utcnow() + timedelta(days=30))
        return app

    def environment(self, function: Function) -> dict:
        """What the function's process gets: Vercel's settings for it, and production's variables."""
        from tests.qstash_standin import CURRENT_KEY, NEXT_KEY

        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC",
            **function.config.get("environment", {}),
            "APP_ENV": "production", "APP_URL": APP_URL,
            "DATABASE_URL": self.schema_url.replace("postgresql+psycopg://", "postgresql://"),
            "N8N_WEBHOOK_URL": self.receiver.url, "N8N_WEBHOOK_AUTH_HEADER": N8N_AUTH_HEADER,
            "N8N_WEBHOOK_SECRET": self.secrets["N8N_WEBHOOK_SECRET"],
            # Nothing here calls QStash; should anything try, it meets a closed port on loopback.
            "QSTASH_TOKEN": "qstash-token-for-the-smoke-test", "QSTASH_URL": f"http://127.0.0.1:{closed_port()}",
            "QSTASH_CURRENT_SIGNING_KEY": CURRENT_KEY, "QSTASH_NEXT_SIGNING_KEY": NEXT_KEY,
            "SECRET_KEY": self.secrets["SECRET_KEY"], "CRON_SECRET": self.secrets["CRON_SECRET"],
            "TOKEN_ENCRYPTION_KEY": self.secrets["TOKEN_ENCRYPTION_KEY"],
        }

    def due_post(self) -> tuple[str, int]:
        from tests.conftest import new_post
        from webapp.models import utcnow

        now = utcnow()
        return new_post(self.app, self.user_id, f"Deployed and punctual ({uuid.uuid4().hex[:6]})",
                        at=now - timedelta(milliseconds=100), now=now - timedelta(seconds=1))

    def status_of(self, post_id: str) -> str:
        from tests.conftest import post_row

        return post_row(self.app, post_id).status

    def close(self) -> None:
        import sqlalchemy as sa

        if self.app is not None:
            from webapp.extensions import db

            with self.app.app_context():
                db.engine.dispose()
        if self.receiver is not None:
            self.receiver.__exit__(None, None, None)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.admin.dispose()
        if self.instance is not None:
            self.instance.cleanup()


def signed_delivery(post_id: str, user_id: int, version: int) -> tuple[str, dict]:
    from tests.qstash_standin import sign

    body = json.dumps({"postId": post_id, "userId": user_id, "version": version})
    return body, {"content-type": "application/json", "upstash-retried": "0",
                  "upstash-message-id": f"msg_{uuid.uuid4().hex}",
                  "upstash-signature": sign(body.encode(), APP_URL + "/api/posts/dispatch")}


def smoke_one(deployment: Deployment, probe: Probe, static_file: Path, task: Path) -> tuple[list[str], float]:
    """Pages, a static file, the health check, one signed dispatch and the cron's call: the failures,
    as sentences, and the cold start (import to the first answer)."""
    problems = []
    origin = probe.ready.get("webapp") or "?"

    def check(answer: dict, status: int, what: str, also: bool = True, why: str = "") -> None:
        if answer["status"] != status or not also:
            detail = why or answer["body"][:300].replace("\n", " ")
            problems.append(f"{what} answered {answer['status']} (expected {status}): {detail}")

    login = probe.request("GET", "/login")
    check(login, 200, "GET /login", 'name="password"' in login["body"], "no login form in the page")
    static_path = "/static/" + static_file.relative_to(task / "static").as_posix()
    static = probe.request("GET", static_path)
    check(static, 200, f"GET {static_path}", static["body"] == static_file.read_text(),
          "the body is not the file's content")
    missing = probe.request("GET", "/no-such-page")
    check(missing, 404, "GET /no-such-page", "<html" in missing["body"].lower(), "no error page rendered")
    health = probe.request("GET", "/healthz")
    healthy = health["status"] == 200 and json.loads(health["body"]).get("database") == "ok"
    check(health, 200, "GET /healthz", healthy, health["body"][:300])
    described = probe.request("GET", "/api/openapi.json")
    check(described, 200, "GET /api/openapi.json", '"openapi": "3.1.0"' in described["body"]
          or '"openapi":"3.1.0"' in described["body"], "not the OpenAPI document")

    post_id, version = deployment.due_post()
    body, headers = signed_delivery(post_id, deployment.user_id, version)
    dispatch = probe.request("POST", "/api/posts/dispatch", headers=headers, body=body)
    check(dispatch, 200, "POST /api/posts/dispatch")
    key = f"{post_id}:{version}"
    arrived = [a for a in deployment.receiver.wait_for(1, timeout=5) if a.key == key]
    deadline = time.monotonic() + 10
    while not arrived and time.monotonic() < deadline:
        time.sleep(0.05)
        arrived = [a for a in deployment.receiver.arrivals if a.key == key]
    if len(arrived) != 1:
        problems.append(f"The due post reached n8n's stand-in {len(arrived)} times, not once (key {key}).")
    elif arrived[0].headers.get(N8N_AUTH_HEADER) != deployment.secrets["N8N_WEBHOOK_SECRET"]:
        problems.append(f"The webhook call did not carry n8n's Header Auth ({N8N_AUTH_HEADER}).")
    status = deployment.status_of(post_id)
    if status != "published":
        problems.append(f"The dispatched post is {status!r}, not 'published'.")
    # The Vercel Cron's call (config.json's crons): nothing is left to do, and it says so.
    cron = probe.request("GET", "/api/posts/recover",
                         headers={"authorization": f"Bearer {deployment.secrets['CRON_SECRET']}"})
    check(cron, 200, "GET /api/posts/recover (the cron)", '"total"' in cron["body"])
    print(f"  sys.path after the trampoline: {effective_path(probe.ready, task, task.parent / 'runtime')}")
    where = Path(origin).relative_to(task) if origin.startswith(str(task)) else origin
    print(f"  {probe.ready['python']}, webapp from {where}: "
          f"/login {login['status']}, {static_path} {static['status']}, 404 page {missing['status']}, "
          f"/healthz {health['status']}, dispatch {dispatch['status']} -> n8n got it {len(arrived)}x, post {status}, "
          f"cron {cron['status']}; "
          f"cold start {login['sinceImport']:.2f} s")
    return problems, login["sinceImport"]


def command_smoke(args) -> int:
    try:
        function, problems = inspect(args.source)
    except CheckFailed as exc:
        print(f"FAIL: {exc}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="punctual-vercel-function-") as scratch:
        task, runtime = lay_out(function, Path(scratch))
        read_only = read_only_works(task)
        if not read_only:
            sentence = ("cannot mount the function read-only here (unshare -m needs root); "
                        "Vercel's function folder is read-only, so this run proves less.")
            if IN_CI:
                print(f"FAIL: CI=true and {sentence}", file=sys.stderr)
                return 1
            print(f"note: {sentence}")
        static_file = sorted((task / "static").rglob("*.css"))[0]
        secrets = {"SECRET_KEY": uuid.uuid4().hex * 2, "CRON_SECRET": uuid.uuid4().hex,
                   "N8N_WEBHOOK_SECRET": uuid.uuid4().hex}
        try:
            deployment = Deployment(args.database_url, secrets)
        except CheckFailed as exc:
            print(f"FAIL: {exc}", file=sys.stderr)
            return 1
        cold: dict[str, list[float]] = {order: [] for order in args.orders}
        try:
            env = deployment.environment(function)
            for order in args.orders:
                print(f"order {order}: {describe_order(order)}")
                probe, log = None, ""
                try:
                    probe = Probe(python=args.python, task=task, runtime=runtime, order=order, env=env,
                                  read_only=read_only)
                    found, seconds = smoke_one(deployment, probe, static_file, task)
                    cold[order].append(seconds)
                    log = probe.errors() if found else ""
                except CheckFailed as exc:  # it died or hung: the sentence carries its log
                    found = [str(exc)]
                finally:
                    if probe:
                        probe.close()
                problems += [f"[{order}] {sentence}" for sentence in found]
                if log.strip():
                    problems.append(f"[{order}] the function's log ends with:\n{log}")
            for _ in range(args.cold_starts - 1):
                for order in args.orders:
                    if not cold[order]:
                        continue  # it did not start: no figure to add to
                    probe = Probe(python=args.python, task=task, runtime=runtime, order=order, env=env,
                                  read_only=read_only)
                    try:
                        cold[order].append(probe.request("GET", "/login")["sinceImport"])
                    finally:
                        probe.close()
        except CheckFailed as exc:
            problems.append(str(exc))
        finally:
            deployment.close()
    everything = [s for values in cold.values() for s in values]
    if everything:
        per_order = ", ".join(f"{o} {statistics.median(v):.2f} s" for o, v in cold.items() if v)
        print(f"cold start (import vc__handler__python -> first answer, GET /login), median of "
              f"{len(everything)}: {statistics.median(everything):.2f} s ({per_order})")
    for sentence in problems:
        print(f"FAIL: {sentence}", file=sys.stderr)
    return 1 if problems else 0


def describe_order(order: str) -> str:
    return {"root": "function root first, then the standard library",
            "vendor": "_vendor first, the function root last",
            "runtime": "a runtime folder first, the function root appended last"}[order]


def effective_path(ready: dict, task: Path, runtime: Path) -> str:
    """sys.path once the trampoline has run, shortened: where each entry is, in order."""
    names = []
    for entry in ready.get("sysPath", []):
        if entry.startswith(str(task)):
            names.append(Path(entry).relative_to(task).as_posix() if entry != str(task) else "<root>")
        elif entry.startswith(str(runtime)):
            names.append("<runtime>")
        elif "<stdlib>" not in names[-1:]:
            names.append("<stdlib>")
    return ", ".join(names)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    p = commands.add_parser("inspect", help="assert on SOURCE/.vercel/output and print the bundle's size")
    p.add_argument("source", type=Path)
    p.add_argument("--json", type=Path, help="also write the bundle's figures here")
    p.add_argument("--expect-bytecode", action="store_true", help="fail unless .pyc files were shipped")
    p.set_defaults(run=command_inspect)
    p = commands.add_parser("smoke", help="run the built function with Python 3.12 in every sys.path order")
    p.add_argument("source", type=Path)
    p.add_argument("--python", required=True, help="Python 3.12, the function's runtime")
    p.add_argument("--database-url", required=True, help="a Postgres server to make a schema in")
    p.add_argument("--orders", nargs="+", choices=ORDERS, default=list(ORDERS))
    p.add_argument("--cold-starts", type=int, default=3, help="cold starts per order to take the median of")
    p.set_defaults(run=command_smoke)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
