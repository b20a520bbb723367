"""The one root of seatsync's expected failures.

Each subclass's docstring is the message a person reads; ``str(error)`` adds
the specifics given when it was raised; ``advice`` says what to do about it.
Unexpected failures are anything else.
"""

from __future__ import annotations


class SeatsyncError(Exception):
    """Something went wrong in seatsync."""

    #: What a person can do about it, when the message does not say so itself (the nearest class's).
    advice: str = ""

    def __init__(self, detail: str = "", **context: object) -> None:
        self.detail = detail
        self.context = context
        super().__init__(self.message)

    @property
    def message(self) -> str:
        head = " ".join((self.__doc__ or type(self).__name__).split())
        return f"{head.rstrip('.')}: {self.detail}" if self.detail else head


class ConfigurationError(SeatsyncError):
    """seatsync is not set up for this."""
    advice = "Open Settings to finish setting seatsync up."
