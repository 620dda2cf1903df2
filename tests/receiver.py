"""A stand-in for the n8n webhook on loopback: records every arrival, answers as told.

One receiver for the tests, the chaos runs and the benchmarks:

- in-process, for tests: `with Receiver() as r:` → r.url, r.arrivals, r.answer = Answer(...) or a
  function(arrival) -> Answer;
- as its own process, for chaos runs and benchmarks (so it competes with nothing but the
  machine): `python -m tests.receiver --out arrivals.jsonl [--delay-ms 30] [--rates ...]`, or
  `start_process(...)` from Python. It prints `receiver listening on <url>` once it accepts
  connections and appends one JSON line per request to --out:
  {"t": epoch seconds at arrival, "key": Idempotency-Key, "postId": body's postId,
   "answer": "200" | "500" | … | "hang" | "drop", "status": the HTTP status sent, or null}.

Answers, as the CLI's --rates pick them: an HTTP status (200, 500, 503 and 429 with
`Retry-After: 1`, 400, …), "hang" (no answer until --hang-s, long after the client's timeout) or
"drop" (the connection is closed after the request was read).
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

#: Node.js's default listen backlog, which a real n8n has. socketserver's default of 5 overflows
#: when more than ~5 clients connect at once (the kernel then drops SYNs: a 1 s retransmission).
DEFAULT_BACKLOG = 511


@dataclass
class Arrival:
    t: float  # epoch seconds when the request arrived
    key: str | None
    body: dict
    headers: dict


@dataclass
class Answer:
    status: int = 200
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: float = 0.0  # sleep this long before answering (beyond the client's timeout)
    drop: bool = False  # close the connection without answering (after `hang`, if both)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, backlog: int):
        self.request_queue_size = backlog  # read by server_activate()'s listen()
        super().__init__(address, handler)


class Receiver:
    """`with Receiver() as r:` → r.url; r.arrivals; r.answer = Answer(...) or a function(arrival) -> Answer.

    `port` 0 picks a free one; `log` appends one JSON line per request to that file (see the
    module's docstring); `keep=False` keeps no arrivals in memory (long runs that only log)."""

    def __init__(self, *, port: int = 0, backlog: int = DEFAULT_BACKLOG, log: Path | str | None = None,
                 keep: bool = True):
        self.arrivals: list[Arrival] = []
        self.answer: Answer | Callable[[Arrival], Answer] = Answer()
        self.keep = keep
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._log = open(log, "a", buffering=1) if log else None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                t = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw or b"{}")
                except ValueError:
                    body = {"_raw": raw.decode(errors="replace")}
                if not isinstance(body, dict):
                    body = {"_json": body}
                arrival = Arrival(t, self.headers.get("Idempotency-Key"), body, dict(self.headers))
                receiver._arrive(arrival)  # before the answer is chosen: answers may count arrivals
                answer = receiver.answer(arrival) if callable(receiver.answer) else receiver.answer
                receiver._log_answer(arrival, answer)
                if answer.hang:
                    time.sleep(answer.hang)
                if answer.drop:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if answer.delay:
                    time.sleep(answer.delay)
                payload = answer.body
                if payload is None:
                    payload = {"ok": True}
                data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout)

        self.server = _Server(("127.0.0.1", port), Handler, backlog)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _arrive(self, arrival: Arrival) -> None:
        with self._arrived:
            if self.keep:
                self.arrivals.append(arrival)
            self._arrived.notify_all()

    def _log_answer(self, arrival: Arrival, answer: Answer) -> None:
        if self._log is None:
            return
        label = "hang" if answer.hang else "drop" if answer.drop else str(answer.status)
        line = json.dumps({"t": arrival.t, "key": arrival.key, "postId": arrival.body.get("postId"),
                           "answer": label, "status": None if answer.drop or answer.hang else answer.status})
        with self._lock:
            if self._log:
                self._log.write(line + "\n")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        if self._log:
            with self._lock:
                self._log.close()
                self._log = None

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Arrival]:
        """Block until `count` requests arrived (or the timeout ran out); return the arrivals."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.arrivals) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.arrivals)

    def keys(self) -> list[str | None]:
        with self._lock:
            return [a.key for a in self.arrivals]


# ---------------------------------------------------------------------- faults at rates (CLI)


def parse_rates(text: str) -> list[tuple[str, float]]:
    """`500=0.04,hang=0.02,drop=0.01` -> [("500", 0.04), ("hang", 0.02), ("drop", 0.01)]."""
    rates = []
    for part in filter(None, (text or "").split(",")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not (name.isdigit() or name in ("hang", "drop")):
            raise ValueError(f"{part!r}: expected STATUS=RATE, hang=RATE or drop=RATE")
        rate = float(value)
        if not 0 <= rate <= 1:
            raise ValueError(f"{part!r}: a rate is between 0 and 1")
        rates.append((name, rate))
    if sum(rate for _, rate in rates) > 1:
        raise ValueError("the rates add up to more than 1")
    return rates


def faulty_answers(rates: list[tuple[str, float]], *, delay: float = 0.0, hang: float = 3.0,
                   seed: int = 1) -> Callable[[Arrival], Answer]:
    """An answer function: each request gets a fault at its rate, otherwise 200 with a post URN
    (as the shipped n8n workflow answers) after `delay` seconds. Deterministic for a seed."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def answer(arrival: Arrival) -> Answer:
        with lock:
            r = rng.random()
        picked = "200"
        for name, rate in rates:
            if r < rate:
                picked = name
                break
            r -= rate
        if picked == "drop":
            return Answer(drop=True)
        if picked == "hang":
            return Answer(hang=hang, drop=True)  # no answer at all
        status = int(picked)
        if status == 200:
            return Answer(delay=delay, body={"ok": True, "linkedinPostUrn": f"urn:li:share:{arrival.body.get('postId')}"})
        return Answer(status=status, delay=delay, body={"message": f"the receiver was told to answer {status}"},
                      headers={"Retry-After": "1"} if status in (429, 503) else {})

    return answer


def start_process(out: Path | str, *, delay_ms: float = 0.0, rates: str = "", hang_s: float = 3.0,
                  backlog: int = DEFAULT_BACKLOG, seed: int = 1, startup_timeout: float = 20.0,
                  ) -> tuple[subprocess.Popen, str]:
    """Run the receiver as its own process; return it and its URL once it accepts connections.
    Raises RuntimeError, with what the process said, if it does not come up."""
    root = Path(__file__).resolve().parents[1]
    errors = Path(f"{out}.stderr")  # a file, not a pipe: nobody drains a pipe during a long run
    with errors.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "tests.receiver", "--out", str(out), "--delay-ms",
                                 str(delay_ms), "--rates", rates, "--hang-s", str(hang_s), "--backlog", str(backlog),
                                 "--seed", str(seed)], cwd=root, stdout=subprocess.PIPE, stderr=stderr, text=True)
    lines: list[str] = []

    def read():
        lines.append(proc.stdout.readline())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(startup_timeout)
    line = lines[0] if lines else ""
    if not line.startswith("receiver listening on "):
        stop_process(proc)
        said = errors.read_text().strip() or line.strip() or "nothing"
        raise RuntimeError(f"the webhook receiver did not start; it said: {said[-800:]}")
    return proc, line.split()[-1]


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a receiver from start_process() and release its pipe."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout:
        proc.stdout.close()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m tests.receiver", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, default=0, help="0 (default): a free port, printed at start")
    ap.add_argument("--out", required=True, help="append one JSON line per request to this file")
    ap.add_argument("--delay-ms", type=float, default=0.0, help="answer this long after a request arrived")
    ap.add_argument("--rates", default="", help="faults, e.g. 500=0.04,503=0.04,429=0.04,400=0.02,hang=0.02,drop=0.02")
    ap.add_argument("--hang-s", type=float, default=3.0, help="how long a 'hang' holds the request")
    ap.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG, help="listen backlog (Node.js: 511)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        rates = parse_rates(a.rates)
    except ValueError as exc:
        ap.error(f"--rates: {exc}")
    receiver = Receiver(port=a.port, backlog=a.backlog, log=a.out, keep=False)
    receiver.answer = faulty_answers(rates, delay=a.delay_ms / 1000, hang=a.hang_s, seed=a.seed)
    print(f"receiver listening on {receiver.url}", flush=True)
    try:
        receiver.server.serve_forever(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()


if __name__ == "__main__":
    main()
