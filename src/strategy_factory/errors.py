"""The one exception type for user mistakes.

Anything a user can get wrong (a malformed file, an unknown symbol, an impossible
configuration) raises :class:`FactoryError` with a message that says what to fix.
The CLI prints it without a traceback and the API turns it into a 4xx response.

Messages often quote the value that was wrong. :func:`shorten` keeps such quotes short
(a 50 MB value must not come back as a 50 MB message), and :func:`describe_problems`
lists only the first few problems of a validation error.
"""

from __future__ import annotations

import re
from typing import Any

LONGEST_RUN = 80
"""Longer runs of a value (quoted text, or characters without a space) are cut."""
KEPT = 50
"""Characters kept of a cut run; with its ``… (N characters)`` it stays under LONGEST_RUN."""
LONGEST_MESSAGE = 2_000
"""Longer messages lose their middle; the beginning and the end say what to fix."""
LONGEST_PROBLEM = 300
"""Longest message of one validation problem."""
MOST_PROBLEMS = 5
"""Validation problems listed; the rest are counted."""

# A quote that opens after a word character is an apostrophe ("the run's"), not a quote.
_QUOTED = re.compile(
    rf"(?<!\w)'([^']{{{LONGEST_RUN + 1},}})'(?!\w)|(?<!\w)\"([^\"]{{{LONGEST_RUN + 1},}})\"(?!\w)"
)
_RUN = re.compile(rf"\S{{{LONGEST_RUN + 1},}}")


class FactoryError(Exception):
    """A user mistake; the message says what to fix."""


class NotFoundError(FactoryError):
    """A named thing (symbol, run, model) does not exist."""


class BusyError(FactoryError):
    """The thing asked for is being done by someone else right now; try again later."""


def shorten(message: str, limit: int = LONGEST_MESSAGE) -> str:
    """``message`` with every long run of a value cut, at most ``limit`` characters long.

    A quoted value or a run of characters without a space longer than ``LONGEST_RUN``
    keeps its first ``KEPT`` characters plus ``… (N characters)``; a message still longer
    than ``limit`` (at least 120) loses its middle.

    Example::

        shorten(f"timeframe {'x' * 10_000!r} is unknown")
        # "timeframe 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (10000 characters)'
        #  is unknown"
    """
    quoted = _QUOTED.sub(_cut_quoted, message)
    return _without_middle(_RUN.sub(lambda m: _cut(m[0]), quoted), limit)


def _cut_quoted(match: re.Match[str]) -> str:
    quote = "'" if match[1] is not None else '"'
    return f"{quote}{_cut(match[1] if match[1] is not None else match[2])}{quote}"


def _cut(run: str) -> str:
    return f"{run[:KEPT]}… ({len(run)} characters)"


def _without_middle(message: str, limit: int) -> str:
    if len(message) <= limit:
        return message
    tail = limit // 4
    head = limit - tail - len(f" …({len(message)} characters cut)… ")
    return f"{message[:head]} …({len(message) - head - tail} characters cut)… {message[-tail:]}"


def describe_problems(errors: list[Any], most: int = MOST_PROBLEMS) -> str:
    """Pydantic errors (``exc.errors()``) as ``field.path: message; …``.

    Our own ``ValueError`` messages are shown as written, without pydantic's prefix.
    Only the first ``most`` problems are listed (the rest are counted), each shortened.
    """
    listed = [_problem(error) for error in errors[:most]]
    if len(errors) > most:
        listed.append(f"and {len(errors) - most} more problems")
    return "; ".join(listed)


def _problem(error: Any) -> str:
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if error["type"] == "value_error" and cause else error["msg"]
    message = shorten(message, limit=LONGEST_PROBLEM)
    where = shorten(".".join(str(part) for part in error["loc"]), limit=LONGEST_PROBLEM)
    return f"{where}: {message}" if where else message
