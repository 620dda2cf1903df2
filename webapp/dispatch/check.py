"""The pipeline check: one dry run through the configured webhook (n8n, or the demo inbox), read
as five steps, each with a verdict and, when it fails, the sentence that fixes it.

The call is a post's call in dry-run form (docs/n8n/README.md, "Dry run"): the same URL, the same
Header Auth secret and the same WebhookClient (with its wall-clock deadline), the body carrying
`"dryRun": true`, the key `dry-run:<uuid>` (body and Idempotency-Key header), the user's
`personUrn` and `accessToken`, no `postId` and no content; and the header `X-Punctual-Dry-Run: 1`.

`judge` (what an answer means, step by step) is a pure function, table-tested in
tests/test_check.py; `run` makes the call; `warning` is the one rule for when a failed check is
worth a warning on the dashboard.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from .retry import SendResult
from .webhook import Webhook

#: The shipped workflow's dry-run answer when LinkedIn accepted the token.
LINKEDIN_OK = "ok"
#: … when LinkedIn refused it (expired, revoked, missing scopes).
LINKEDIN_REJECTED = "token rejected"
#: … when LinkedIn could not be asked (429, 5xx, no answer): no verdict on the token.
LINKEDIN_UNREACHABLE = "unreachable"
#: The demo inbox's answer: it sends nothing to LinkedIn, so there is nothing to check.
LINKEDIN_NOT_USED = "not used"
#: A failed check is worth a warning on the dashboard while posts are due within this long.
WARN_WITHIN = timedelta(hours=24)
#: Where the shipped workflow is, for the sentences that say "import it again".
WORKFLOW_FILE = "docs/n8n/punctual-linkedin-workflow.json"


class Verdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    #: an earlier step failed, so this one could not be checked
    NOT_CHECKED = "not checked"
    #: nothing to check here (LinkedIn, in demo mode)
    SKIPPED = "skipped"


class Step(StrEnum):
    """The five things the dry run proves, in order: each needs the ones before it."""

    REACH = "reach"
    AUTH = "auth"
    WORKFLOW = "workflow"
    DRY_RUN = "dry_run"
    LINKEDIN = "linkedin"


TITLES = {
    Step.REACH: "The webhook URL resolves and connects",
    Step.AUTH: "n8n accepts the auth header (the secret)",
    Step.WORKFLOW: "The workflow is active and this is its production URL",
    Step.DRY_RUN: "The workflow understood the dry run",
    Step.LINKEDIN: "LinkedIn accepts the access token",
}
DEMO_TITLES = {
    Step.REACH: "The demo inbox answers (in this app: no network)",
    Step.AUTH: "No secret is needed (the demo inbox is in this process)",
    Step.WORKFLOW: "The demo inbox is on (no N8N_WEBHOOK_URL is set)",
    Step.DRY_RUN: "The demo inbox understood the dry run",
    Step.LINKEDIN: "LinkedIn (the demo inbox sends nothing to LinkedIn)",
}


@dataclass(frozen=True)
class StepResult:
    step: Step
    title: str
    verdict: Verdict
    #: on failure, the sentence that fixes it; on success, what was seen (may be empty)
    sentence: str = ""

    @property
    def passed(self) -> bool:
        return self.verdict in (Verdict.PASSED, Verdict.SKIPPED)


@dataclass(frozen=True)
class Result:
    """One pipeline check: when, in which mode, and its steps in order."""

    checked_at: datetime
    demo: bool
    steps: tuple[StepResult, ...]

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps)

    @property
    def failed_step(self) -> StepResult | None:
        return next((step for step in self.steps if step.verdict is Verdict.FAILED), None)

    def steps_json(self) -> str:
        """The steps as stored (pipeline_checks.steps): nothing secret is in them."""
        return json.dumps([{**asdict(s), "step": str(s.step), "verdict": str(s.verdict)} for s in self.steps])

    @classmethod
    def from_stored(cls, *, checked_at: datetime, demo: bool, steps: str) -> Result:
        return cls(checked_at, demo, tuple(
            StepResult(Step(s["step"]), s["title"], Verdict(s["verdict"]), s.get("sentence") or "")
            for s in json.loads(steps)))


@dataclass(frozen=True)
class Target:
    """What the check calls and with what, as far as the sentences need it (no secret)."""

    url: str
    demo: bool = False
    #: a secret is configured (N8N_WEBHOOK_SECRET and its header)
    has_secret: bool = True
    #: the user has a LinkedIn connection whose token could be read
    connected: bool = True
    timeout: float = 30.0


# ---------------------------------------------------------------- the decision


def judge(result: SendResult, body: Any, target: Target) -> list[StepResult]:
    """What one dry run's answer says about each step (pure): the steps up to the first failure
    with their verdicts, the rest "not checked"."""
    titles = DEMO_TITLES if target.demo else TITLES
    verdicts: list[tuple[Step, Verdict, str]] = []

    def finish() -> list[StepResult]:
        done = {step for step, _, _ in verdicts}
        rest = [(step, Verdict.NOT_CHECKED, "") for step in Step if step not in done]
        return [StepResult(step, titles[step], verdict, sentence) for step, verdict, sentence in verdicts + rest]

    def fail(step: Step, sentence: str) -> list[StepResult]:
        for earlier in Step:
            if earlier is step:
                break
            verdicts.append((earlier, Verdict.PASSED, ""))
        verdicts.append((step, Verdict.FAILED, sentence))
        return finish()

    if result.kind != "answered" or result.status is None:
        return fail(Step.REACH, _unreachable(result, target))
    status, detail = result.status, result.detail
    said = f"HTTP {status}" + (f": {detail}" if detail else "")
    if status in (401, 403):
        return fail(Step.AUTH, _refused_secret(said, target))
    if status == 404:
        return fail(Step.WORKFLOW, _not_registered(said, target))
    dry = isinstance(body, dict) and body.get("dryRun") is True
    if not 200 <= status < 300 or not dry:
        if status == 400 and detail.startswith("A dry run needs") and not target.connected:
            # the workflow knows dry runs; it refused one without a token, which only the last step is about
            verdicts.extend((step, Verdict.PASSED, "") for step in (Step.REACH, Step.AUTH, Step.WORKFLOW,
                                                                    Step.DRY_RUN))
            verdicts.append((Step.LINKEDIN, Verdict.FAILED, NOT_CONNECTED))
            return finish()
        return fail(Step.DRY_RUN, _not_understood(status, said, target))
    verdicts.extend((step, Verdict.PASSED, "") for step in (Step.REACH, Step.AUTH, Step.WORKFLOW, Step.DRY_RUN))
    verdicts.append(_linkedin(body, target))
    return finish()


NOT_CONNECTED = "LinkedIn is not connected for this account: connect it in Settings, then check again."


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{parts.hostname}:{parts.port}" if parts.port else (parts.hostname or url)
    except ValueError:
        return "the configured address"


def _unreachable(result: SendResult, target: Target) -> str:
    detail = result.detail or "no answer"
    if target.demo:
        return (f"The demo inbox did not answer ({detail}): check that the database (DATABASE_URL) is up and "
                "its tables are made (flask --app webapp db upgrade).")
    if result.kind == "no_answer":
        return (f"n8n at {_host(target.url)} took the request but gave no complete answer ({detail}): check "
                f"that N8N_WEBHOOK_URL points at n8n, and that n8n answers within N8N_TIMEOUT "
                f"({target.timeout:g} s).")
    return (f"Punctual could not reach n8n at {_host(target.url)} ({detail}): check N8N_WEBHOOK_URL (its "
            "host name, port and http or https) and that n8n is running and reachable from this server.")


def _refused_secret(said: str, target: Target) -> str:
    if not target.has_secret:
        return (f"n8n wants a secret and Punctual sends none ({said}): set N8N_WEBHOOK_AUTH_HEADER to the Name "
                "and N8N_WEBHOOK_SECRET to the Value of the workflow's Header Auth credential.")
    return (f"n8n refused the secret ({said}): set N8N_WEBHOOK_AUTH_HEADER to the Name and "
            "N8N_WEBHOOK_SECRET to the Value of the workflow's Header Auth credential (the secret is wrong).")


def _not_registered(said: str, target: Target) -> str:
    if "/webhook-test/" in urlsplit(target.url).path:
        return (f"n8n does not know this webhook ({said}): N8N_WEBHOOK_URL is n8n's test URL (/webhook-test/…), "
                "which answers only while the editor listens. Activate (publish) the workflow and use its "
                "production URL (/webhook/…).")
    return (f"n8n does not know this webhook ({said}): activate (publish) the workflow in n8n, and use its "
            "production URL (/webhook/…), not the test URL (/webhook-test/…).")


def _not_understood(status: int, said: str, target: Target) -> str:
    if target.demo:
        return f"The demo inbox did not answer as a dry run ({said}): this server's version does not know dry runs."
    if 200 <= status < 300:
        return (f"n8n answered {said.split(':')[0]} but not as a dry run: N8N_WEBHOOK_URL may point at another "
                f"workflow. Import {WORKFLOW_FILE} and use its production URL.")
    if status == 400 and "Missing or empty field" in said:
        return (f"This copy of the workflow does not know dry runs ({said}): import {WORKFLOW_FILE} again "
                "and activate it.")
    if status >= 500:
        return (f"The workflow failed on the dry run ({said}): open its failed execution in n8n (Executions) "
                f"to see which node; importing {WORKFLOW_FILE} again repairs a changed copy.")
    return (f"The workflow refused the dry run ({said}): import {WORKFLOW_FILE} again and activate it, or "
            "check that N8N_WEBHOOK_URL points at it.")


def _linkedin(body: dict[str, Any], target: Target) -> tuple[Step, Verdict, str]:
    state = body.get("linkedin")
    status = body.get("linkedinStatus")
    with_status = f" (HTTP {status})" if isinstance(status, int) else ""
    if target.demo or state == LINKEDIN_NOT_USED:
        return Step.LINKEDIN, Verdict.SKIPPED, "The demo inbox sends nothing to LinkedIn; nothing to check."
    if not target.connected:
        return Step.LINKEDIN, Verdict.FAILED, NOT_CONNECTED
    if state == LINKEDIN_OK:
        if body.get("samePerson") is False:
            return Step.LINKEDIN, Verdict.FAILED, (
                "The token belongs to another LinkedIn member than the connected one, so LinkedIn would "
                "refuse the posts: reconnect LinkedIn in Settings as the right member.")
        name = body.get("name")
        return Step.LINKEDIN, Verdict.PASSED, (f"LinkedIn knows the token as {name}." if isinstance(name, str)
                                                 and name else "LinkedIn accepted the token.")
    if state == LINKEDIN_REJECTED:
        return Step.LINKEDIN, Verdict.FAILED, (
            f"LinkedIn refused the access token{with_status}: it expired or was revoked (or lacks the openid "
            "and profile scopes). Reconnect LinkedIn in Settings, then check again.")
    if state == LINKEDIN_UNREACHABLE:
        return Step.LINKEDIN, Verdict.FAILED, (
            f"n8n could not reach LinkedIn to check the token{with_status}, so it is not known whether it "
            "works: check again in a few minutes.")
    return Step.LINKEDIN, Verdict.FAILED, (
        f"The workflow gave no verdict on the token (linkedin: {str(state)[:40]!r}): import {WORKFLOW_FILE} "
        "again and activate it.")


# ---------------------------------------------------------------- the call


def dry_run_key() -> str:
    return f"dry-run:{uuid.uuid4()}"


def payload(*, key: str, user_id: int, person_urn: str | None, access_token: str | None) -> dict[str, Any]:
    """A post's payload in dry-run form: no postId, no content, no image."""
    body: dict[str, Any] = {"dryRun": True, "idempotencyKey": key, "userId": user_id}
    if person_urn and access_token:
        body.update(personUrn=person_urn, accessToken=access_token)
    return body


def run(webhook: Webhook, target: Target, *, user_id: int, person_urn: str | None,
        access_token: str | None, now: datetime) -> Result:
    """Make the dry run and judge its answer. Never raises for what the network does."""
    key = dry_run_key()
    sent, body = webhook.dry_run(payload(key=key, user_id=user_id, person_urn=person_urn,
                                         access_token=access_token), key)
    hide = [access_token] if access_token else []
    last = urlsplit(target.url).path.rstrip("/").rpartition("/")[2]
    if len(last) >= SECRET_LOOKING_PATH:  # a webhook path made unguessable (n8n's default is a UUID)
        hide.append(last)
    steps = [replace(step, sentence=_redact(step.sentence, hide)) for step in judge(sent, body, target)]
    return Result(now, target.demo, tuple(steps))


#: A webhook path segment this long is treated as a secret (n8n's default paths are UUIDs) and
#: never kept or shown in a sentence (n8n's 404 names the path it did not find).
SECRET_LOOKING_PATH = 20


def _redact(text: str, secrets: list[str]) -> str:
    """Never keep or show a token or a secret-looking path, even one echoed back in an answer."""
    for secret in secrets:
        text = text.replace(secret, "[redacted]")
    return text


# ---------------------------------------------------------------- what a failed check means for the dashboard


def warning(last: Result | None, *, due_within: int) -> str | None:
    """The dashboard's warning: the last check failed and `due_within` posts are due within
    WARN_WITHIN (None otherwise; a check never run is not a failed one)."""
    if last is None or last.passed or not due_within:
        return None
    failed = last.failed_step
    at = f" at “{failed.title}”" if failed is not None else ""
    posts = "1 post is" if due_within == 1 else f"{due_within} posts are"
    return (f"The last pipeline check failed{at}, and {posts} due within 24 hours: "
            "fix it and check the pipeline again in Settings.")
