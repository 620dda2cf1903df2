#!/usr/bin/env python3
"""A misbehaving n8n for the chaos runs: answers each request with a fault at configured rates
and logs every arrival as one JSON line {t, key, postId, answer}.

answer is the HTTP status sent (200, 500, 503, 429, 400), or "hang" (no answer until long after
the client's timeout), "drop" (the connection is closed after the request was read), "slow" (a
correct 200, after --slow-s seconds: n8n slow but alive) or "dribble" (a correct 200, one byte
every --dribble-s seconds: each read is quick, the whole answer never comes in time).

Usage: receiver.py --port P --out arrivals.jsonl [--rates 500=0.04,503=0.04,429=0.04,400=0.02,hang=0.02,drop=0.02]
                   [--hang-s 3] [--slow-s 1,3] [--dribble-s 0.1] [--delay-ms 5] [--seed 1]
"""
import argparse
import json
import random
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # the default 5 drops SYNs under a burst (1 s TCP retry)

    def handle_error(self, request, client_address):
        """A client that hangs up mid-answer (a deadline, a SIGKILLed worker) is the point here."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def parse_rates(text: str) -> list[tuple[str, float]]:
    rates = []
    for part in filter(None, (text or "").split(",")):
        name, _, value = part.partition("=")
        rates.append((name.strip(), float(value)))
    return rates


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rates", default="")
    ap.add_argument("--hang-s", type=float, default=3.0)
    ap.add_argument("--slow-s", default="1,3", help="a slow answer takes between these many seconds")
    ap.add_argument("--dribble-s", type=float, default=0.1, help="seconds between the bytes of a dribbled answer")
    ap.add_argument("--delay-ms", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rates = parse_rates(a.rates)
    slow_min, slow_max = (float(x) for x in a.slow_s.split(","))
    rng = random.Random(a.seed)
    lock = threading.Lock()
    out = open(a.out, "a", buffering=1)

    # Every configured fault happens at least once, early (a run without them would prove nothing),
    # spread over the first arrivals; then they come at their rates.
    first = [name for name, rate in rates if rate > 0]
    rng.shuffle(first)
    seen = [0]

    def pick() -> str:
        with lock:
            seen[0] += 1
            if seen[0] % 4 == 0 and first:
                return first.pop()
            r = rng.random()
        for name, rate in rates:
            if r < rate:
                return name
            r -= rate
        return "200"

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
                body = {}
            answer = pick()
            with lock:
                out.write(json.dumps({"t": t, "key": self.headers.get("Idempotency-Key"),
                                      "postId": body.get("postId"), "answer": answer}) + "\n")
            if answer == "drop":
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if answer == "hang":
                time.sleep(a.hang_s)
                self.close_connection = True
                return
            if a.delay_ms:
                time.sleep(a.delay_ms / 1000)
            if answer == "slow":
                with lock:
                    pause = rng.uniform(slow_min, slow_max)
                time.sleep(pause)
            status = 200 if answer in ("slow", "dribble") else int(answer)
            payload = {"linkedinPostUrn": f"urn:li:share:{body.get('postId')}"} if status == 200 else \
                {"message": f"chaos says {status}"}
            data = json.dumps(payload).encode()
            if answer == "dribble":
                head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
                        "\r\nConnection: close\r\n\r\n").encode()
                self.close_connection = True
                try:
                    for i, byte in enumerate(head + data):
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(a.dribble_s)
                except OSError:
                    pass  # the client's deadline ended the call
                return
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                if status in (429, 503):
                    self.send_header("Retry-After", "1")
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass

    server = Server(("127.0.0.1", a.port), Handler)
    print(f"chaos receiver on 127.0.0.1:{a.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
