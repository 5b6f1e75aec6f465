"""The one exception type for user mistakes.

Anything a user can get wrong (a malformed file, an unknown symbol, an impossible
configuration) raises :class:`FactoryError` with a message that says what to fix.
The CLI prints it without a traceback and the API turns it into a 4xx response.
"""

from __future__ import annotations

from typing import Any


class FactoryError(Exception):
    """A user mistake; the message says what to fix."""


class NotFoundError(FactoryError):
    """A named thing (symbol, run, model) does not exist."""


def describe_problems(errors: list[Any]) -> str:
    """Pydantic errors (``exc.errors()``) as ``field.path: message; …``.

    Our own ``ValueError`` messages are shown as written, without pydantic's prefix.
    """
    return "; ".join(_problem(error) for error in errors)


def _problem(error: Any) -> str:
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if error["type"] == "value_error" and cause else error["msg"]
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}: {message}" if where else message
