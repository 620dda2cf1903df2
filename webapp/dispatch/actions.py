"""What users do to posts. Each action is one store call, then the alarms are told."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from .store import Store


@dataclass
class Core:
    """Everything the views need to act on posts; one per app (app.extensions["punctual"])."""

    store: Store
    clock: Callable[[], datetime]


def create_post(core: Core, user_id: int, fields: dict) -> str:
    return core.store.create(user_id=user_id, content=fields["content"],
                             image_url=fields.get("image_url"), now=core.clock())


def edit_post(core: Core, user_id: int, post_id: str, fields: dict) -> None:
    core.store.edit(post_id=post_id, user_id=user_id, now=core.clock(), **fields)


def delete_post(core: Core, user_id: int, post_id: str) -> None:
    core.store.delete(post_id=post_id, user_id=user_id)
