"""The pipeline check: what each answer to the dry run means (a table), the call itself through the
real webhook client (a wrong secret, an inactive workflow, an unreachable host, an expired
LinkedIn token), the demo inbox's side, the kept result, and `flask check`."""

from __future__ import annotations

import json
import re
import socket
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from webapp.dispatch import actions, check
from webapp.dispatch.check import Step, Target, Verdict
from webapp.dispatch.retry import SendResult
from webapp.models import utcnow

from .conftest import LINKEDIN_TOKEN, connect_linkedin, core_of, make_user
from .receiver import Answer, Receiver

P, F, N, K = Verdict.PASSED, Verdict.FAILED, Verdict.NOT_CHECKED, Verdict.SKIPPED
N8N = Target(url="https://n8n.example.com/webhook/linkedin-post")
OK = {"dryRun": True, "linkedin": "ok", "name": "Ada Lovelace", "personUrn": "urn:li:person:AbC123",
      "samePerson": True}


def answered(status, detail=""):
    return SendResult.answered(status, detail)


# (what came back, its JSON body, the target) -> each step's verdict, and words the failing step's
# sentence must contain (the fix).
CASES = [
    # 1. the URL: nothing listens, the name does not resolve, the URL is not a URL
    ("refused", SendResult.not_sent("connection refused"), None, N8N, [F, N, N, N, N],
     ["could not reach n8n at n8n.example.com", "connection refused", "N8N_WEBHOOK_URL"]),
    ("no answer", SendResult.no_answer("no answer within 30 s"), None, N8N, [F, N, N, N, N],
     ["gave no complete answer", "N8N_TIMEOUT"]),
    # 2. the secret
    ("wrong secret", answered(403, "Authorization data is wrong!"), None, N8N, [P, F, N, N, N],
     ["n8n refused the secret (HTTP 403", "N8N_WEBHOOK_SECRET", "secret is wrong"]),
    ("no secret sent", answered(401), None, Target(url=N8N.url, has_secret=False), [P, F, N, N, N],
     ["Punctual sends none", "N8N_WEBHOOK_SECRET"]),
    # 3. inactive workflow, or the test URL
    ("inactive", answered(404, 'The requested webhook "POST linkedin-post" is not registered.'), None, N8N,
     [P, P, F, N, N], ["is not registered", "activate (publish) the workflow", "production URL", "not the test URL"]),
    ("test URL", answered(404, "not registered"), None,
     Target(url="https://n8n.example.com/webhook-test/linkedin-post"), [P, P, F, N, N],
     ["N8N_WEBHOOK_URL is n8n's test URL", "/webhook/"]),
    # 4. the workflow does not understand a dry run
    ("old workflow", answered(400, "Missing or empty field(s): postId, content."), None, N8N, [P, P, P, F, N],
     ["does not know dry runs", "import docs/n8n/punctual-linkedin-workflow.json"]),
    ("workflow error", answered(500, "Workflow could not be started"), None, N8N, [P, P, P, F, N],
     ["failed on the dry run (HTTP 500", "Executions"]),
    ("another workflow", answered(200), {"ok": True}, N8N, [P, P, P, F, N], ["but not as a dry run"]),
    # 5. LinkedIn's verdict on the token
    ("all good", answered(200), OK, N8N, [P, P, P, P, P], []),
    ("expired token", answered(200), {"dryRun": True, "linkedin": "token rejected", "linkedinStatus": 401},
     N8N, [P, P, P, P, F], ["LinkedIn refused the access token (HTTP 401)", "Reconnect LinkedIn in Settings"]),
    ("another member", answered(200), {**OK, "samePerson": False}, N8N, [P, P, P, P, F],
     ["another LinkedIn member"]),
    ("LinkedIn down", answered(200), {"dryRun": True, "linkedin": "unreachable", "linkedinStatus": 503}, N8N,
     [P, P, P, P, F], ["could not reach LinkedIn", "(HTTP 503)", "check again in a few minutes"]),
    ("not connected", answered(400, "A dry run needs personUrn and accessToken; nothing was checked."), None,
     Target(url=N8N.url, connected=False), [P, P, P, P, F], ["LinkedIn is not connected", "Settings"]),
    # the demo inbox
    ("demo", answered(200), {"dryRun": True, "linkedin": "not used"},
     Target(url="the demo inbox (in this app)", demo=True), [P, P, P, P, K], []),
    ("demo down", SendResult.not_sent("its table could not be read (OperationalError)"), None,
     Target(url="the demo inbox (in this app)", demo=True), [F, N, N, N, N], ["demo inbox", "DATABASE_URL"]),
]


@pytest.mark.parametrize("sent, body, target, verdicts, fix", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_answer_is_read_as_steps_with_the_sentence_that_fixes_the_first_failure(sent, body, target,
                                                                                      verdicts, fix):
    steps = check.judge(sent, body, target)
    assert [s.step for s in steps] == list(Step)
    assert [s.verdict for s in steps] == verdicts
    failed = [s for s in steps if s.verdict is F]
    assert len(failed) == (1 if F in verdicts else 0)
    for words in fix:
        assert words in failed[0].sentence
    assert all(s.sentence == "" for s in steps if s.verdict is N)


def test_a_passed_check_names_the_member_and_a_failed_one_is_not_passed():
    now = utcnow()
    good = check.Result(now, False, tuple(check.judge(answered(200), OK, N8N)))
    assert good.passed and good.steps[-1].sentence == "LinkedIn knows the token as Ada Lovelace."
    bad = check.Result(now, False, tuple(check.judge(answered(403), None, N8N)))
    assert not bad.passed and bad.failed_step.step is Step.AUTH
    stored = check.Result.from_stored(checked_at=now, demo=False, steps=bad.steps_json())
    assert stored == bad


@pytest.mark.parametrize("passed, due, warned", [
    (None, 3, False),  # never checked: no warning (it is not a failed check)
    (True, 3, False),
    (False, 0, False),  # failed, but nothing due within 24 hours
    (False, 1, True),
])
def test_the_dashboard_warns_only_when_the_last_check_failed_and_posts_are_due_soon(passed, due, warned):
    answer = answered(200) if passed else answered(404, "not registered")
    last = None if passed is None else check.Result(utcnow(), False, tuple(check.judge(
        answer, OK if passed else None, N8N)))
    sentence = check.warning(last, due_within=due)
    assert (sentence is not None) == warned
    if warned:
        assert "failed at “The workflow is active and this is its production URL”" in sentence
        assert "1 post is due within 24 hours" in sentence


# ---------------------------------------------------------------- the call, through the real client


@pytest.fixture
def n8n():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def config_overrides(n8n):
    return {"N8N_WEBHOOK_URL": n8n.url, "N8N_WEBHOOK_AUTH_HEADER": "X-Punctual-Secret",
            "N8N_WEBHOOK_SECRET": "shared-secret", "N8N_TIMEOUT": 2.0}


@pytest.fixture
def ada(app):
    user_id = make_user(app)
    connect_linkedin(app, user_id, expires_at=utcnow() + timedelta(days=30))
    return user_id


def run_check(app, user_id):
    with app.app_context():
        return actions.check_pipeline(core_of(app), user_id=user_id)


def test_the_dry_run_is_a_posts_call_without_a_post(app, ada, n8n):
    n8n.answer = Answer(body=OK)
    result = run_check(app, ada)
    assert result.passed, result.steps
    [arrival] = n8n.arrivals
    assert arrival.path == urlsplit(n8n.url).path
    assert arrival.headers["X-Punctual-Dry-Run"] == "1"
    assert arrival.headers["X-Punctual-Secret"] == "shared-secret"
    assert re.fullmatch(r"dry-run:[0-9a-f-]{36}", arrival.key)
    assert arrival.body == {"dryRun": True, "idempotencyKey": arrival.key, "userId": ada,
                            "personUrn": "urn:li:person:AbC123", "accessToken": LINKEDIN_TOKEN}
    assert "postId" not in arrival.body and "content" not in arrival.body


def test_each_check_has_a_fresh_key(app, ada, n8n):
    n8n.answer = Answer(body=OK)
    run_check(app, ada)
    run_check(app, ada)
    assert len(set(n8n.keys())) == 2


@pytest.mark.parametrize("answer, failing, words", [
    (Answer(403, {"message": "Authorization data is wrong!"}), Step.AUTH, "n8n refused the secret (HTTP 403"),
    (Answer(404, {"message": 'The requested webhook "POST linkedin-post" is not registered.'}), Step.WORKFLOW,
     "activate (publish) the workflow"),
    (Answer(200, {"dryRun": True, "linkedin": "token rejected", "linkedinStatus": 401,
                  "message": "LinkedIn refused the access token (401)"}), Step.LINKEDIN,
     "LinkedIn refused the access token (HTTP 401)"),
], ids=["wrong secret", "inactive workflow or wrong URL", "expired LinkedIn token"])
def test_a_failing_pipeline_is_reported_at_its_step_and_kept(app, ada, n8n, answer, failing, words):
    n8n.answer = answer
    result = run_check(app, ada)
    assert not result.passed
    assert result.failed_step.step is failing and words in result.failed_step.sentence
    with app.app_context():
        kept = actions.last_check(core_of(app), user_id=ada)
    assert kept == result
    assert LINKEDIN_TOKEN not in kept.steps_json()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("config_overrides", [{"N8N_WEBHOOK_URL": f"http://127.0.0.1:{closed_port()}/webhook/x",
                                               "N8N_TIMEOUT": 1.0}])
def test_an_unreachable_host_fails_the_first_step(app, ada):
    result = run_check(app, ada)
    assert [s.verdict for s in result.steps] == [F, N, N, N, N]
    assert "could not reach n8n at 127.0.0.1" in result.steps[0].sentence
    assert "N8N_WEBHOOK_URL" in result.steps[0].sentence


def test_without_a_linkedin_connection_the_last_step_says_connect(app, n8n):
    user_id = make_user(app)
    n8n.answer = Answer(400, {"message": "A dry run needs personUrn and accessToken; nothing was checked."})
    result = run_check(app, user_id)
    assert [s.verdict for s in result.steps] == [P, P, P, P, F]
    assert "accessToken" not in n8n.arrivals[0].body


def test_a_secret_looking_webhook_path_is_never_kept(app, ada, n8n):
    from webapp.dispatch.webhook import WebhookClient

    path = "3f2b8c1e-9a7d-4e4f-b1c2-0d9e8f7a6b5c"
    n8n.answer = Answer(404, {"message": f'The requested webhook "POST {path}" is not registered.'})
    url = f"{n8n.url}/{path}"
    result = check.run(WebhookClient(url, read_timeout=2), Target(url=url), user_id=ada, person_urn=None,
                       access_token=None, now=utcnow())
    assert result.failed_step.step is Step.WORKFLOW
    assert path not in result.steps_json() and '"POST [redacted]"' in result.failed_step.sentence


def test_a_token_echoed_back_is_never_kept(app, ada, n8n):
    n8n.answer = Answer(500, {"message": f"boom {LINKEDIN_TOKEN}"})
    result = run_check(app, ada)
    assert LINKEDIN_TOKEN not in result.steps_json() and "[redacted]" in result.steps_json()


# ---------------------------------------------------------------- the demo inbox


class TestDemoInbox:
    @pytest.fixture
    def config_overrides(self):
        return {}  # no N8N_WEBHOOK_URL: the demo inbox, in this process

    def test_the_demo_inbox_understands_a_dry_run_and_records_no_post(self, app):
        user_id = make_user(app)
        result = run_check(app, user_id)
        assert result.demo and result.passed, result.steps
        assert result.steps[-1].verdict is K
        assert result.steps[0].title == "The demo inbox answers (in this app: no network)"
        with app.app_context():
            from sqlalchemy import func, select

            from webapp.extensions import db
            from webapp.models import InboxMessage
            assert db.session.execute(select(func.count()).select_from(InboxMessage)).scalar() == 0

    def test_a_dry_run_carrying_a_post_is_refused(self, app):
        webhook = core_of(app).dispatcher.webhook
        sent, body = webhook.dry_run({"dryRun": True, "content": "Hi"}, "dry-run:x")
        assert sent.status == 400 and "carries no content" in sent.detail and body is None
        steps = check.judge(sent, body, Target(url=webhook.url, demo=True))
        assert [s.verdict for s in steps] == [P, P, P, F, N]


# ---------------------------------------------------------------- flask check


def test_flask_check_prints_each_step_and_exits_0_only_when_all_pass(app, ada, n8n):
    runner = app.test_cli_runner()
    n8n.answer = Answer(body=OK)
    passed = runner.invoke(args=["check", "--email", "ada@example.com"])
    assert passed.exit_code == 0, passed.output
    assert re.search(r"^  passed +The webhook URL resolves and connects$", passed.output, re.M)
    assert "LinkedIn knows the token as Ada Lovelace." in passed.output
    n8n.answer = Answer(403, {"message": "Authorization data is wrong!"})
    failed = runner.invoke(args=["check"])  # the only user
    assert failed.exit_code == 1
    assert re.search(r"^  failed +n8n accepts the auth header", failed.output, re.M)
    assert re.search(r"^  not checked +LinkedIn accepts the access token", failed.output, re.M)
    assert "N8N_WEBHOOK_SECRET" in failed.output and "shared-secret" not in failed.output


def test_flask_check_needs_a_known_user(app, ada):
    make_user(app, email="grace@example.com")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["check"]).exit_code == 2  # two users: say which
    unknown = runner.invoke(args=["check", "--email", "nobody@example.com"])
    assert unknown.exit_code == 2 and "no user with the email" in unknown.output


def test_healthz_reports_the_last_check_without_secrets(app, client, ada, n8n):
    assert client.get("/healthz").json["pipelineCheck"] is None
    n8n.answer = Answer(403, {"message": "Authorization data is wrong!"})
    run_check(app, ada)
    health = client.get("/healthz").json
    assert health["pipelineCheck"]["passed"] is False
    assert health["pipelineCheck"]["failedStep"] == "auth"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", health["pipelineCheck"]["checkedAt"])
    text = json.dumps(health)
    assert "shared-secret" not in text and LINKEDIN_TOKEN not in text and "ada@example.com" not in text


# ---------------------------------------------------------------- Settings and the dashboard


def test_settings_checks_the_pipeline_with_htmx_and_without(app, client, ada, n8n):
    with client.session_transaction() as session:
        session["_user_id"] = str(ada)
    page = client.get("/settings").text
    assert "Not checked yet." in page and 'id="check-pipeline"' in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    n8n.answer = Answer(404, {"message": 'The requested webhook "POST linkedin-post" is not registered.'})
    widget = client.post("/settings/pipeline-check", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert widget.status_code == 200
    assert 'id="pipeline"' in widget.text and "The last check failed." in widget.text
    assert "activate (publish) the workflow" in widget.text and "<html" not in widget.text
    n8n.answer = Answer(body=OK)
    plain = client.post("/settings/pipeline-check", data={"csrf_token": token})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/settings#pipeline")
    again = client.get("/settings").text
    assert "Every step passed." in again and "LinkedIn knows the token as Ada Lovelace." in again
    assert "shared-secret" not in again and LINKEDIN_TOKEN not in again


def test_the_dashboard_warns_when_the_last_check_failed_and_a_post_is_due_within_a_day(app, client, ada, n8n):
    from .conftest import new_post

    with client.session_transaction() as session:
        session["_user_id"] = str(ada)
    n8n.answer = Answer(403)
    run_check(app, ada)
    assert "Pipeline warning" not in client.get("/").text  # nothing due
    new_post(app, ada, at=utcnow() + timedelta(days=2))
    assert "Pipeline warning" not in client.get("/").text  # due, but not within 24 hours
    new_post(app, ada, at=utcnow() + timedelta(hours=20))
    page = client.get("/").text
    assert "Pipeline warning" in page and "1 post is due within 24 hours" in page
    n8n.answer = Answer(body=OK)
    run_check(app, ada)
    assert "Pipeline warning" not in client.get("/").text
