"""The pieces the benchmarks measure with: the analyser's figures, the receiver's fault rates and
its own-process mode, and the start-up checks. (The benchmarks themselves are not tests: they
print figures, see docs/benchmarks.md.)"""

import json

import pytest
import requests

from bench.analyse import analyse, lateness, pct
from bench.preflight import need_modules
from tests.receiver import parse_rates, start_process, stop_process


def test_the_analyser_counts_missing_duplicate_early_and_only_answered_arrivals():
    plan = {"a": 100.0, "b": 100.0, "c": 100.0, "d": 100.0}
    arrivals = [
        {"postId": "a", "t": 100.010, "status": 200},
        {"postId": "a", "t": 100.500, "status": 200},  # a second delivery of a
        {"postId": "b", "t": 99.5, "status": 200},  # early
        {"postId": "c", "t": 100.2, "status": 500},  # refused by n8n: not delivered...
        {"postId": "c", "t": 101.0, "status": 200},  # ...until this retry
        {"postId": "x", "t": 100.0, "status": 200},  # not in the plan
    ]
    result = analyse(plan, arrivals)
    assert {k: result[k] for k in ("planned", "delivered", "missing", "duplicates", "early")} == \
        {"planned": 4, "delivered": 3, "missing": 1, "duplicates": 1, "early": 1}
    assert result["max_s"] == pytest.approx(1.0) and result["span_s"] == pytest.approx(1.5)
    assert lateness(plan, arrivals) == pytest.approx([-0.5, 0.01, 1.0])


@pytest.mark.parametrize("values, p, expected", [
    ([], 50, None),
    ([3.0], 99, 3.0),
    ([1.0, 2.0, 3.0], 50, 2.0),
    (list(range(1, 101)), 99, 99),  # nearest rank over n - 1 intervals
    ([5.0, 1.0, 3.0], 0, 1.0),
])
def test_percentiles_by_nearest_rank(values, p, expected):
    assert pct(values, p) == expected


@pytest.mark.parametrize("text, expected", [
    ("", []),
    ("500=0.04,hang=0.02,drop=0.01", [("500", 0.04), ("hang", 0.02), ("drop", 0.01)]),
    (" 429 = 0.5 ", [("429", 0.5)]),
])
def test_fault_rates_parse(text, expected):
    assert parse_rates(text) == expected


@pytest.mark.parametrize("text, says", [
    ("500", "expected STATUS=RATE"),
    ("teapot=0.1", "expected STATUS=RATE"),
    ("500=1.5", "between 0 and 1"),
    ("500=0.6,503=0.6", "more than 1"),
    ("500=lots", "could not convert"),
])
def test_bad_fault_rates_are_refused_with_a_reason(text, says):
    with pytest.raises(ValueError, match=says):
        parse_rates(text)


def test_the_receiver_as_its_own_process_answers_at_its_rates_and_logs_every_arrival(tmp_path):
    out = tmp_path / "arrivals.jsonl"
    proc, url = start_process(out, rates="503=1")
    try:
        answer = requests.post(url, json={"postId": "p1"}, headers={"Idempotency-Key": "p1:1"}, timeout=10)
    finally:
        stop_process(proc)
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "1")
    [line] = out.read_text().splitlines()
    record = json.loads(line)
    assert {k: record[k] for k in ("key", "postId", "answer", "status")} == \
        {"key": "p1:1", "postId": "p1", "answer": "503", "status": 503}


def test_a_receiver_that_cannot_start_says_why(tmp_path):
    with pytest.raises(RuntimeError, match="(?s)did not start; it said: .*--rates: .nonsense.: expected STATUS=RATE"):
        start_process(tmp_path / "arrivals.jsonl", rates="nonsense")


def test_a_missing_module_stops_a_bench_script_with_what_to_install():
    with pytest.raises(SystemExit, match=r"bench/x.py: no_such_module_16 is not installed .*"
                                         r"install the bench extra: pip install -e '\.\[bench\]'"):
        need_modules("bench/x.py", "json", "no_such_module_16")
