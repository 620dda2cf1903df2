"""Errors the core raises for a request it refuses; the docstring is the default sentence."""

from __future__ import annotations


class PunctualError(Exception):
    """Something went wrong."""

    status = 400

    def __init__(self, message: str | None = None):
        super().__init__(message or self.__doc__)

    @property
    def message(self) -> str:
        return str(self.args[0])


class InvalidInput(PunctualError):
    """That input is not valid."""

    status = 400


class NotFound(PunctualError):
    """There is no such post."""

    status = 404


class Conflict(PunctualError):
    """The post is not in a state that allows this."""

    status = 409
