"""Server-side forms (Flask-WTF: every one carries a CSRF token)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from .. import timeutil

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _email(form, field):
    if not EMAIL.match(field.data or ""):
        raise ValidationError("Enter an email address like name@example.com.")


def _zone(form, field):
    """Stores the canonical name: an old one (US/Eastern) becomes the zone it links to."""
    zone = timeutil.canonical_zone(field.data)
    if zone is None:
        raise ValidationError(f"“{(field.data or '').strip()[:64]}” is not a time zone we know: pick one from the list "
                              "(an IANA name such as Europe/Berlin, or a city such as Berlin).")
    field.data = zone


class RegisterForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired("Enter your email."), Length(max=254), _email])
    password = PasswordField("Password", validators=[
        DataRequired("Choose a password."),
        Length(min=8, max=200, message="Use at least 8 characters."),
    ], description="At least 8 characters.")
    #: Filled in by the browser from Intl.DateTimeFormat().resolvedOptions().timeZone.
    time_zone = HiddenField()


class LoginForm(FlaskForm):
    email = StringField("Email", validators=[DataRequired("Enter your email.")])
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])


class TimeZoneForm(FlaskForm):
    #: A text input with a <datalist> of every zone and its offset: searchable, with or without JavaScript.
    time_zone = StringField("Time zone", validators=[DataRequired("Pick a time zone."), _zone])


class LinkedInManualForm(FlaskForm):
    access_token = PasswordField("Access token", validators=[
        DataRequired("Paste the access token."), Length(min=8, max=4000),
    ])
    person_urn = StringField("Person URN", validators=[DataRequired("Enter your person URN.")])
    expires_on = DateField("Expires on", validators=[Optional()])

    def validate_person_urn(self, field):
        if not re.fullmatch(r"urn:li:person:[A-Za-z0-9_-]+", (field.data or "").strip()):
            raise ValidationError("A person URN looks like urn:li:person:AbC123xyz.")

    def validate_expires_on(self, field):
        """Within a year of today: LinkedIn's tokens last 60 days, and a date such as 9999-12-31
        could not be shown in every time zone."""
        today = datetime.now(timezone.utc).date()
        if field.data is not None and not today - timedelta(days=366) <= field.data <= today + timedelta(days=366):
            raise ValidationError("Give the date the token expires, within a year of today "
                                  "(LinkedIn's tokens last 60 days).")


class ApiTokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Give the token a name."), Length(max=100)])
