"""The demo inbox's delivery: what the dispatcher sends through when no N8N_WEBHOOK_URL is set.

It takes the place of the n8n client (the same `send(payload, idempotency_key)` and the same
`deadline`), so the dispatcher's claim → fence → send → record is exactly the one that talks to
n8n; only the last hop differs. Instead of an HTTP call to the app's own address — which a server
cannot know for sure (`flask run --port 8000`, a Mac's AirPlay on 5000, gunicorn, `flask worker`
in its own process) — the payload, serialised to JSON exactly as n8n would receive it, is written
straight to the inbox's table. No setting, no port, no secret.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import SQLAlchemyError

from .. import crypto
from ..config import CONNECT_TIMEOUT
from ..dispatch.check import LINKEDIN_NOT_USED
from ..dispatch.retry import SendResult
from ..models import inbox_messages, utcnow


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class InboxDelivery:
    """Records each post in the demo inbox, as n8n would have received it."""

    #: What the pipeline check's sentences call it (there is no address: it is in this process).
    url = "the demo inbox (in this app)"
    #: In-process: no secret to carry, none to get wrong.
    has_secret = True

    def __init__(self, engine: Engine, *, read_timeout: float = 30.0):
        self.engine = engine
        self.read_timeout = read_timeout
        #: The same bound as the n8n client's, so DISPATCH_LEASE means the same in both modes.
        self.deadline = CONNECT_TIMEOUT + read_timeout

    def dry_run(self, payload: dict[str, Any], idempotency_key: str) -> tuple[SendResult, Any]:
        """The pipeline check, answered as the shipped workflow answers it, and recorded nowhere:
        the demo inbox sends nothing to LinkedIn, so there is no token to check. It reads its table
        once, so a database it cannot reach fails the check's first step."""
        body = json.loads(json.dumps(payload))
        extra = sorted(name for name in ("postId", "content", "imageUrl") if body.get(name))
        if extra:
            return SendResult.answered(400, f"A dry run carries no {', '.join(extra)}; nothing was checked or "
                                            "posted."), None
        try:
            with self.engine.connect() as conn:
                conn.execute(select(inbox_messages.c.id).limit(1)).first()
        except SQLAlchemyError as exc:
            return SendResult.not_sent(f"its table could not be read ({type(exc).__name__})"), None
        return SendResult.answered(200), {"dryRun": True, "linkedin": LINKEDIN_NOT_USED,
                                          "message": "The demo inbox received the dry run; it sends nothing to "
                                                     "LinkedIn."}

    def send(self, payload: dict[str, Any], idempotency_key: str) -> SendResult:
        body = json.loads(json.dumps(payload))  # what n8n would parse: only JSON survives
        try:
            with self.engine.begin() as conn:
                repeat = conn.execute(select(inbox_messages.c.id).where(
                    inbox_messages.c.idempotency_key == idempotency_key).limit(1)).first() is not None
                conn.execute(insert(inbox_messages).values(
                    user_id=body.get("userId") if isinstance(body.get("userId"), int) else None,
                    post_id=str(body.get("postId"))[:36], idempotency_key=idempotency_key, repeat=repeat,
                    received_at=utcnow(), scheduled_at=_instant(body.get("scheduledAt")),
                    content=str(body.get("content") or ""), image_url=body.get("imageUrl") or None,
                    person_urn=body.get("personUrn") or None,
                    access_token_masked=crypto.mask(body.get("accessToken")) if body.get("accessToken") else "",
                ))
        except SQLAlchemyError as exc:  # rolled back: nothing was recorded, so it may be tried again
            return SendResult.not_sent(f"the demo inbox could not record it ({type(exc).__name__})")
        return SendResult.answered(200)
