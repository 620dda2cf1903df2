"""A stand-in for the n8n webhook on loopback: records every arrival, answers as told.

One receiver for the tests, the chaos runs and the benchmarks:

- in-process, for tests: `with Receiver() as r:` → r.url, r.arrivals, r.answer = Answer(...) or a
  function(arrival) -> Answer; `Receiver(tls=(cert, key))` serves HTTPS;
- as its own process, for chaos runs and benchmarks (so it competes with nothing but the
  machine): `python -m tests.receiver --out arrivals.jsonl [--delay-ms 30] [--rates ...]`, or
  `start_process(...)` from Python. It prints `receiver listening on <url>` once it accepts
  connections and appends one JSON line per request to --out:
  {"t": epoch seconds at arrival, "key": Idempotency-Key, "postId": body's postId,
   "answer": "200" | "500" | … | "hang" | "drop" | "slow" | "dribble", "status": the HTTP status
   sent, or null}.

Answers, as the CLI's --rates pick them: an HTTP status (200, 500, 503 and 429 with
`Retry-After: 1`, 400, …), "hang" (no answer until --hang-s, long after the client's timeout),
"drop" (the connection is closed after the request was read), "slow" (a correct 200 after
--slow-s seconds: n8n slow but alive) or "dribble" (a correct 200, one byte every --dribble-s
seconds: each read is quick, the whole answer never comes in time). With --each-fault-once, every
configured fault is also answered at least once, early in the run.
"""

from __future__ import annotations

import argparse
import json
import random
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

#: Node.js's default listen backlog, which a real n8n has. socketserver's default of 5 overflows
#: when more than ~5 clients connect at once (the kernel then drops SYNs: a 1 s retransmission).
DEFAULT_BACKLOG = 511
#: What --rates may name besides an HTTP status.
FAULTS = ("hang", "drop", "slow", "dribble")


@dataclass
class Arrival:
    t: float  # epoch seconds when the request arrived
    key: str | None
    body: dict
    headers: dict
    path: str = ""  # the request target as sent (an absolute URL when it came through a proxy)
    peer: tuple = ()  # the client's (address, port): one per connection
    method: str = "POST"


@dataclass
class Answer:
    status: int = 200
    body: dict | str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    hang: float = 0.0  # sleep this long before answering (beyond the client's timeout)
    drop: bool = False  # close the connection without answering (after `hang`, if both)
    dribble: float = 0.0  # send the answer one byte at a time, this many seconds apart
    label: str | None = None  # what the log calls this answer (default: hang, drop or the status)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, backlog: int):
        self.request_queue_size = backlog  # read by server_activate()'s listen()
        super().__init__(address, handler)

    def handle_error(self, request, client_address):
        """A client that hangs up mid-request (timeouts, deadlines, SIGKILLs) is not news."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class Receiver:
    """`with Receiver() as r:` → r.url; r.arrivals; r.answer = Answer(...) or a function(arrival) -> Answer.

    `port` 0 picks a free one; `log` appends one JSON line per request to that file (see the
    module's docstring); `keep=False` keeps no arrivals in memory (long runs that only log);
    `tls`: (certificate file, key file) to serve HTTPS instead of HTTP."""

    def __init__(self, *, port: int = 0, backlog: int = DEFAULT_BACKLOG, log: Path | str | None = None,
                 keep: bool = True, tls: tuple[str, str] | None = None):
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
                arrival = Arrival(t, self.headers.get("Idempotency-Key"), body, dict(self.headers), self.path,
                                  tuple(self.client_address))
                answer = receiver._arrive(arrival)
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
                if answer.dribble:
                    self._dribble(answer, data)
                    return
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

            def do_CONNECT(self):
                """Play an HTTPS proxy that refuses every tunnel with the answer's status."""
                answer = receiver._arrive(Arrival(time.time(), None, {}, dict(self.headers), self.path,
                                                  tuple(self.client_address), "CONNECT"))
                self.send_response(answer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _dribble(self, answer: Answer, data: bytes):
                """A whole, valid answer, one byte at a time: each read is quick, the answer never ends in time."""
                whole = (f"HTTP/1.1 {answer.status} OK\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n").encode() + data
                self.close_connection = True
                try:
                    for i in range(len(whole)):
                        self.wfile.write(whole[i:i + 1])
                        self.wfile.flush()
                        time.sleep(answer.dribble)
                except OSError:
                    pass  # the client hung up (its deadline)

        self.server = _Server(("127.0.0.1", port), Handler, backlog)
        self.port = self.server.server_address[1]
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.port}/webhook"
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def _arrive(self, arrival: Arrival) -> Answer:
        """Record the arrival (before the answer is chosen: answers may count arrivals), then choose."""
        with self._arrived:
            if self.keep:
                self.arrivals.append(arrival)
            self._arrived.notify_all()
        answer = self.answer(arrival) if callable(self.answer) else self.answer
        self._log_answer(arrival, answer)
        return answer

    def _log_answer(self, arrival: Arrival, answer: Answer) -> None:
        if self._log is None:
            return
        label = answer.label or ("hang" if answer.hang else "drop" if answer.drop else str(answer.status))
        silent = answer.drop or answer.hang or answer.dribble
        line = json.dumps({"t": arrival.t, "key": arrival.key, "postId": arrival.body.get("postId"),
                           "answer": label, "status": None if silent else answer.status})
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
    """`500=0.04,hang=0.02,slow=0.05` -> [("500", 0.04), ("hang", 0.02), ("slow", 0.05)]."""
    rates = []
    for part in filter(None, (text or "").split(",")):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not (name.isdigit() or name in FAULTS):
            raise ValueError(f"{part!r}: expected STATUS=RATE or one of {', '.join(FAULTS)}=RATE")
        rate = float(value)
        if not 0 <= rate <= 1:
            raise ValueError(f"{part!r}: a rate is between 0 and 1")
        rates.append((name, rate))
    if sum(rate for _, rate in rates) > 1:
        raise ValueError("the rates add up to more than 1")
    return rates


def faulty_answers(rates: list[tuple[str, float]], *, delay: float = 0.0, hang: float = 3.0,
                   slow: tuple[float, float] = (1.0, 3.0), dribble: float = 0.1, seed: int = 1,
                   each_fault_once: bool = False) -> Callable[[Arrival], Answer]:
    """An answer function: each request gets a fault at its rate, otherwise 200 with a post URN
    (as the shipped n8n workflow answers) after `delay` seconds. Deterministic for a seed. With
    `each_fault_once`, every fault is also answered at least once, spread over the first arrivals
    (a chaos run without its faults would prove nothing)."""
    rng = random.Random(seed)
    lock = threading.Lock()
    first = [name for name, rate in rates if rate > 0] if each_fault_once else []
    rng.shuffle(first)
    seen = [0]

    def pick() -> str:
        with lock:
            seen[0] += 1
            if first and seen[0] % 4 == 0:
                return first.pop()
            r = rng.random()
            pause = rng.uniform(*slow)
        for name, rate in rates:
            if r < rate:
                return name if name != "slow" else f"slow:{pause}"
            r -= rate
        return "200"

    def answer(arrival: Arrival) -> Answer:
        picked = pick()
        if picked == "slow":  # chosen by each_fault_once
            picked = f"slow:{sum(slow) / 2}"
        if picked == "drop":
            return Answer(drop=True)
        if picked == "hang":
            return Answer(hang=hang, drop=True)  # no answer at all
        published = {"ok": True, "linkedinPostUrn": f"urn:li:share:{arrival.body.get('postId')}"}
        if picked.startswith("slow:"):
            return Answer(delay=delay + float(picked[5:]), body=published, label="slow")
        if picked == "dribble":
            return Answer(delay=delay, body=published, dribble=dribble, label="dribble")
        status = int(picked)
        if status == 200:
            return Answer(delay=delay, body=published)
        return Answer(status=status, delay=delay, body={"message": f"the receiver was told to answer {status}"},
                      headers={"Retry-After": "1"} if status in (429, 503) else {})

    return answer


def start_process(out: Path | str, *, delay_ms: float = 0.0, rates: str = "", hang_s: float = 3.0,
                  slow_s: tuple[float, float] = (1.0, 3.0), dribble_s: float = 0.1, each_fault_once: bool = False,
                  backlog: int = DEFAULT_BACKLOG, seed: int = 1, startup_timeout: float = 20.0,
                  ) -> tuple[subprocess.Popen, str]:
    """Run the receiver as its own process; return it and its URL once it accepts connections.
    Raises RuntimeError, with what the process said, if it does not come up."""
    root = Path(__file__).resolve().parents[1]
    errors = Path(f"{out}.stderr")  # a file, not a pipe: nobody drains a pipe during a long run
    args = [sys.executable, "-m", "tests.receiver", "--out", str(out), "--delay-ms", str(delay_ms),
            "--rates", rates, "--hang-s", str(hang_s), "--slow-s", f"{slow_s[0]},{slow_s[1]}",
            "--dribble-s", str(dribble_s), "--backlog", str(backlog), "--seed", str(seed)]
    if each_fault_once:
        args.append("--each-fault-once")
    with errors.open("w") as stderr:
        proc = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=stderr, text=True)
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
    ap.add_argument("--rates", default="",
                    help="faults, e.g. 500=0.04,503=0.04,429=0.04,400=0.02,hang=0.02,drop=0.02,slow=0.05,dribble=0.02")
    ap.add_argument("--hang-s", type=float, default=3.0, help="how long a 'hang' holds the request")
    ap.add_argument("--slow-s", default="1,3", help="a 'slow' answer comes after between these many seconds")
    ap.add_argument("--dribble-s", type=float, default=0.1, help="seconds between the bytes of a 'dribble'")
    ap.add_argument("--each-fault-once", action="store_true", help="answer every fault at least once, early")
    ap.add_argument("--backlog", type=int, default=DEFAULT_BACKLOG, help="listen backlog (Node.js: 511)")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        rates = parse_rates(a.rates)
    except ValueError as exc:
        ap.error(f"--rates: {exc}")
    try:
        slow_min, slow_max = (float(x) for x in a.slow_s.split(","))
    except ValueError:
        ap.error(f"--slow-s: expected two numbers of seconds, e.g. 1,3; got {a.slow_s!r}")
    receiver = Receiver(port=a.port, backlog=a.backlog, log=a.out, keep=False)
    receiver.answer = faulty_answers(rates, delay=a.delay_ms / 1000, hang=a.hang_s, slow=(slow_min, slow_max),
                                     dribble=a.dribble_s, seed=a.seed, each_fault_once=a.each_fault_once)
    print(f"receiver listening on {receiver.url}", flush=True)
    try:
        receiver.server.serve_forever(0.05)
    except KeyboardInterrupt:
        pass
    finally:
        receiver.server.server_close()


if __name__ == "__main__":
    main()
