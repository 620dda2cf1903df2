"""Connect with LinkedIn: the OAuth 2.0 authorization-code flow, as LinkedIn documents it.

1. `authorization_url` sends the member to LinkedIn with our client id, the redirect URI, the
   scopes and a `state` we keep in their session;
2. LinkedIn sends them back to the callback with `code` and `state` (or `error`);
3. `connect` exchanges the code for an access token and reads the member's id (`sub`) from the
   OpenID Connect userinfo endpoint.

Ordinary LinkedIn apps get a 60-day access token and no refresh token, so the expiry is stored
and reconnecting is the only way to renew. Nothing here logs or returns a token or the client
secret: every failure is a LinkedInError whose message is a sentence for the member.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests

AUTHORIZATION_URL = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
USERINFO_URL = "https://api.linkedin.com/v2/userinfo"
#: Sign in with LinkedIn (OpenID Connect) for the person id, Share on LinkedIn to post.
SCOPES = ("openid", "profile", "w_member_social")
POSTING_SCOPE = "w_member_social"
#: (connect, read) seconds for each call to LinkedIn; this runs inside a web request.
TIMEOUT = (5, 15)
#: How long a started connect may take before its state is refused.
STATE_TTL = timedelta(minutes=10)
#: Errors LinkedIn sends back when the member said no.
DECLINED = {"user_cancelled_login", "user_cancelled_authorize", "access_denied"}


class LinkedInError(Exception):
    """Connecting failed; the message is a sentence for the member (no secrets in it)."""


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    client_secret: str
    redirect_uri: str

    @classmethod
    def from_config(cls, config, default_redirect: str) -> OAuthClient | None:
        """The client when LINKEDIN_CLIENT_ID and LINKEDIN_CLIENT_SECRET are set, else None."""
        if not (config.get("LINKEDIN_CLIENT_ID") and config.get("LINKEDIN_CLIENT_SECRET")):
            return None
        return cls(config["LINKEDIN_CLIENT_ID"], config["LINKEDIN_CLIENT_SECRET"],
                   config.get("LINKEDIN_REDIRECT_URI") or default_redirect)


@dataclass(frozen=True)
class Grant:
    """What a successful connect yields."""

    person_urn: str
    access_token: str
    expires_at: datetime | None
    #: the member's name and picture (OpenID `name`, `picture`), when userinfo gave them
    name: str | None = None
    picture: str | None = None

    def __repr__(self) -> str:  # keep the token out of logs and tracebacks
        return f"Grant(person_urn={self.person_urn!r}, expires_at={self.expires_at!r})"


def new_state() -> str:
    return secrets.token_urlsafe(32)


def authorization_url(client: OAuthClient, state: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "state": state,
        "scope": " ".join(SCOPES),
    }
    return f"{AUTHORIZATION_URL}?{urlencode(query)}"


def check_state(*, expected: str | None, received: str | None, started_at: float | None, now: float) -> None:
    """The callback's `state` must be the one this session started, and recent (CSRF protection)."""
    if not expected or started_at is None:
        raise LinkedInError("The LinkedIn sign-in was not started from this browser session (or it "
                            "was already used). Choose Connect LinkedIn again.")
    if not received or not secrets.compare_digest(expected, received):
        raise LinkedInError("LinkedIn's answer did not match the sign-in this browser started, so it "
                            "was ignored. Choose Connect LinkedIn again.")
    if now - started_at > STATE_TTL.total_seconds():
        raise LinkedInError("The LinkedIn sign-in took more than 10 minutes and expired. "
                            "Choose Connect LinkedIn again.")


def refusal_sentence(error: str, description: str | None) -> str:
    """A sentence for an `error` LinkedIn sent to the callback instead of a code."""
    if error in DECLINED:
        return "LinkedIn was not connected: the permission request was cancelled on LinkedIn."
    detail = f" ({_clip(description)})" if description else ""
    return f"LinkedIn refused the connection: {_clip(error)}{detail}. Try again, or check the app's settings."


def connect(client: OAuthClient, code: str, now: datetime, session: requests.Session | None = None) -> Grant:
    """Exchange the authorization code for a token, then read the member's person id."""
    http = session or requests
    answer = _call(lambda: http.post(TOKEN_URL, data={
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": client.redirect_uri,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }, headers={"Accept": "application/json"}, timeout=TIMEOUT), "exchanging the code for a token")
    token = answer.get("access_token")
    if not isinstance(token, str) or not token:
        raise LinkedInError("LinkedIn's token answer had no access token. Try Connect LinkedIn again.")
    granted = answer.get("scope")
    if isinstance(granted, str) and POSTING_SCOPE not in granted.replace(",", " ").split():
        raise LinkedInError("LinkedIn connected, but without permission to post (w_member_social). "
                            "Add the “Share on LinkedIn” product to the LinkedIn app, then connect again.")
    expires_in = answer.get("expires_in")
    expires_at = (now + timedelta(seconds=expires_in)
                  if isinstance(expires_in, (int, float)) and expires_in > 0 else None)
    profile = _call(lambda: http.get(USERINFO_URL, headers={"Authorization": f"Bearer {token}"},
                                     timeout=TIMEOUT), "reading your LinkedIn profile")
    sub = profile.get("sub")
    if not isinstance(sub, str) or not sub.strip():
        raise LinkedInError("LinkedIn did not say who you are (no “sub” in the profile). Make sure the "
                            "app has the “Sign in with LinkedIn using OpenID Connect” product.")
    return Grant(f"urn:li:person:{sub.strip()}", token, expires_at,
                 name=_text(profile.get("name"), 255), picture=_https(profile.get("picture")))


def _text(value: object, limit: int) -> str | None:
    """A short profile string, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:limit]


def _https(value: object) -> str | None:
    """A picture URL from userinfo, kept only when it is a plain https link."""
    text = _text(value, 2048)
    return text if text and text.startswith("https://") and " " not in text else None


def _call(send, doing: str) -> dict:
    """One call to LinkedIn -> its JSON object, or a LinkedInError saying what went wrong."""
    try:
        response = send()
    except requests.RequestException:
        raise LinkedInError(f"Could not reach LinkedIn while {doing}. Check the connection and try again.") from None
    try:
        data = response.json()
    except ValueError:
        data = None
    if not response.ok:
        detail = ""
        if isinstance(data, dict):
            said = data.get("error_description") or data.get("message") or data.get("error")
            detail = f": {_clip(str(said))}" if said else ""
        raise LinkedInError(f"LinkedIn answered {response.status_code} while {doing}{detail}. Try again.")
    if not isinstance(data, dict):
        raise LinkedInError(f"LinkedIn's answer while {doing} was not JSON. Try again.")
    return data


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
