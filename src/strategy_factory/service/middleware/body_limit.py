"""The request body limit: 413 for a body larger than ``FACTORY_MAX_BODY_BYTES``.

Job results (``POST /jobs/{id}/complete``) carry whole model artifacts — a forest of a
hundred trees is megabytes — so they have a limit of their own,
``FACTORY_MAX_RESULT_BYTES``; every other body is a small JSON document.

A declared ``Content-Length`` above the limit is refused before the application runs;
a body without one (chunked) is counted as it arrives and refused as soon as it grows
past the limit, so no more than the limit (plus the chunk that crossed it) is read.
Starlette's own limiter answers in plain text and names no setting; clients of this API
get JSON saying what the limit is and how to raise it.
"""

from __future__ import annotations

import re

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLargeError(Exception):
    """Raised into the application when the body it reads grows past the limit."""


_RESULT_PATH = re.compile(r"^/jobs/[0-9]+/complete/?$")


def too_large_message(limit: int, setting: str = "FACTORY_MAX_BODY_BYTES") -> str:
    """What a client whose body is over ``limit`` bytes is told."""
    return (
        f"the request body is larger than this server accepts ({limit:,} bytes, "
        f"{limit / 2**20:.2f} MiB): send less, or raise {setting} on the server"
    )


def declared_length(scope: Scope) -> int | None:
    """The request's Content-Length, or ``None`` when absent or malformed."""
    value = Headers(scope=scope).get("content-length")
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


class BodyLimit:
    """Pure ASGI middleware refusing request bodies over ``max_bytes`` with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_result_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_result_bytes = max_bytes if max_result_bytes is None else max_result_bytes

    def limit(self, scope: Scope) -> tuple[int, str]:
        """The limit of this request's body and the setting that raises it."""
        if _RESULT_PATH.match(scope.get("path", "")):
            return self.max_result_bytes, "FACTORY_MAX_RESULT_BYTES"
        return self.max_bytes, "FACTORY_MAX_BODY_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, receive, send, limit, setting)
            return
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise _BodyTooLargeError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise _BodyTooLargeError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # the application's answer to a cut body; the 413 replaces it
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyTooLargeError:
            if started:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, limit, setting)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, limit: int, setting: str
    ) -> None:
        response = JSONResponse({"detail": too_large_message(limit, setting)}, status_code=413)
        await response(scope, receive, send)
