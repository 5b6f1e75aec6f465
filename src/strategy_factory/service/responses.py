"""How the service answers: finite JSON, and every error mapped onto its status here.

A malformed body is 422 (one entry per field, only the first few), an unknown symbol,
run or model 404, an impossible configuration (:class:`FactoryError`) 400, a conflict
with stored rows 409, an unreachable store 503, anything else 500. Every message is
shortened (:func:`strategy_factory.errors.shorten`): whatever a client sends, the error
it gets back stays a few KB.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError

from strategy_factory.errors import (
    LONGEST_PROBLEM,
    MOST_PROBLEMS,
    BusyError,
    FactoryError,
    NotFoundError,
    shorten,
)
from strategy_factory.json_values import dumps
from strategy_factory.service.middleware import SECURITY_HEADERS

log = logging.getLogger(__name__)

_DEEPEST = 6  # parts of a field's location shown
_LONGEST_PART = 120  # characters of one part (a key a client made up may be huge)


class FiniteJSONResponse(JSONResponse):
    """JSON with NaN and ±inf written as null (metrics can be undefined; JSON has no NaN)."""

    def render(self, content: Any) -> bytes:
        return dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def problems_out(errors: list[Any]) -> dict[str, Any]:
    """The 422 body for pydantic ``errors``: the first few, shortened, and one message."""
    detail = [
        {
            "loc": _location(error["loc"]),
            "msg": shorten(error["msg"], LONGEST_PROBLEM),
            "type": error["type"],
        }
        for error in errors[:MOST_PROBLEMS]
    ]
    lines = [f"{_place(entry['loc'])}: {entry['msg']}" for entry in detail]
    if len(errors) > MOST_PROBLEMS:
        lines.append(f"and {len(errors) - MOST_PROBLEMS} more problems")
    return {"detail": detail, "message": "; ".join(lines)}


def _location(loc: Any) -> list[Any]:
    parts = [shorten(part, _LONGEST_PART) if isinstance(part, str) else part for part in loc]
    return parts if len(parts) <= _DEEPEST else [*parts[: _DEEPEST - 1], "…", parts[-1]]


def _place(loc: list[Any]) -> str:
    """``body.criteria.sqn_100`` from a pydantic location (the ``body``/``query`` kept)."""
    return ".".join(str(part) for part in loc) or "request"


def _answer(status_code: int, message: str, **headers: str) -> FiniteJSONResponse:
    return FiniteJSONResponse(
        status_code=status_code, content={"detail": shorten(message)}, headers=headers or None
    )


def add_error_handlers(app: FastAPI) -> None:
    """Map every error onto its status and a bounded JSON body."""

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return FiniteJSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content=problems_out(exc.errors())
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return _answer(status.HTTP_404_NOT_FOUND, str(exc))

    @app.exception_handler(BusyError)
    async def _busy(_: Request, exc: BusyError) -> JSONResponse:
        return _answer(status.HTTP_409_CONFLICT, str(exc))

    @app.exception_handler(FactoryError)
    async def _user_mistake(_: Request, exc: FactoryError) -> JSONResponse:
        return _answer(status.HTTP_400_BAD_REQUEST, str(exc))

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        return _answer(
            status.HTTP_409_CONFLICT, f"the request conflicts with what is stored: {exc.orig}"
        )

    @app.exception_handler(OperationalError)
    async def _store_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("store unreachable: %s", exc)
        reason = " ".join(str(exc.orig).split())
        return _answer(status.HTTP_503_SERVICE_UNAVAILABLE, f"the store is unreachable: {reason}")

    # Answered outside every middleware (Starlette's ServerErrorMiddleware), hence the
    # security headers here; the exception is still raised on to the server's log.
    @app.exception_handler(Exception)
    async def _failure(_: Request, exc: Exception) -> JSONResponse:
        return _answer(
            status.HTTP_500_INTERNAL_SERVER_ERROR,
            f"the server failed on this request ({type(exc).__name__}); its log has the details",
            **SECURITY_HEADERS,
        )
