"""The errors gradcheck raises on purpose, each one line for a person.

:class:`GradcheckError` is the base of them all: the CLI prints ``str(err)`` as one line and exits
with status 2. :class:`SpecError` is bad input: it names the file, the field and the value, shown
by :func:`show_value` as the user wrote it. Re-exported by :mod:`gradcheck.spec.network`.
"""

from __future__ import annotations

__all__ = ["GradcheckError", "SpecError", "Unsupported", "show_value"]


class GradcheckError(Exception):
    """Base of every error gradcheck raises on purpose; the CLI prints ``str(err)`` as one line."""


class SpecError(GradcheckError, ValueError):
    """A spec or its input is invalid; ``str(err)`` is one line naming file, field and value."""


class Unsupported(NotImplementedError):
    """Raised by a candidate for a network it does not handle (``raise Unsupported("no shared
    bias")``): the network is reported ``unsupported`` and counted apart, never as a failure.
    A plain ``NotImplementedError`` counts the same."""


def show_value(value: object) -> str:
    """A value as the user wrote it (TOML booleans lower-case), cut to 60 characters."""
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
