"""The one exception type for user mistakes.

Anything a user can get wrong (a malformed file, an unknown symbol, an impossible
configuration) raises :class:`FactoryError` with a message that says what to fix.
The CLI prints it without a traceback and the API turns it into a 4xx response.
"""

from __future__ import annotations


class FactoryError(Exception):
    """A user mistake; the message says what to fix."""


class NotFoundError(FactoryError):
    """A named thing (symbol, run, model) does not exist."""
