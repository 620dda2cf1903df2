"""Creating and finding user accounts (the register page and `flask users create` use these)."""

from __future__ import annotations

from sqlalchemy import select

from .. import timeutil
from ..extensions import db
from ..models import User


def create_user(email: str, password: str, time_zone: str = "UTC") -> User:
    """The zone as the browser reported it, canonical (Chrome may say Asia/Calcutta), else UTC."""
    user = User(email=User.normalise_email(email), time_zone=timeutil.canonical_zone(time_zone) or "UTC")
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def find_user(email: str) -> User | None:
    return db.session.execute(
        select(User).where(User.email == User.normalise_email(email))
    ).scalar_one_or_none()
