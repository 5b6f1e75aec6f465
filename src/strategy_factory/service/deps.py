"""What every route depends on: the store, the coordinator, the workflow runner, the chart
validations, the token checks, and the guard that refuses text the store cannot keep.

With ``FACTORY_API_TOKEN`` set, every mutating endpoint and every job/worker endpoint
needs ``Authorization: Bearer <token>``. Read-only endpoints stay open on loopback (the
local dashboard) and need the token too when the server listens on the network.
"""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.coordinator import Coordinator
from strategy_factory.service.learning_runner import LearningRunner
from strategy_factory.service.report_validations import ReportValidations
from strategy_factory.service.workflow_runner import WorkflowRunner
from strategy_factory.store import Store

_bearer = HTTPBearer(auto_error=False, description="FACTORY_API_TOKEN")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def get_settings(request: Request) -> ServiceSettings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_store(request: Request) -> Store:
    """The app's store."""
    return request.app.state.store


def get_coordinator(request: Request) -> Coordinator:
    """The app's run coordinator."""
    return request.app.state.coordinator


def get_workflow_runner(request: Request) -> WorkflowRunner:
    """The app's workflow runner."""
    return request.app.state.workflow_runner


def get_learning_runner(request: Request) -> LearningRunner:
    """The app's learning cycle runner."""
    return request.app.state.learning_runner


def get_report_validations(request: Request) -> ReportValidations:
    """The app's chart validations."""
    return request.app.state.report_validations


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]
WorkflowRunnerDep = Annotated[WorkflowRunner, Depends(get_workflow_runner)]
LearningRunnerDep = Annotated[LearningRunner, Depends(get_learning_runner)]
ReportValidationsDep = Annotated[ReportValidations, Depends(get_report_validations)]


NUL_MESSAGE = "text must not contain NUL characters (\\u0000): the store cannot keep them"
SURROGATE_MESSAGE = (
    "text must be valid Unicode: a lone surrogate (\\ud800-\\udfff without its pair) "
    "is no character, and the store cannot keep it"
)
# JSON text that may decode to NUL or to a lone surrogate: its escapes, or the raw bytes
# of a UTF-8-encoded surrogate (which json.loads decodes with 'surrogatepass').
_SUSPECT_ESCAPES = (b"\\u0000", b"\\ud")
_SURROGATE_LEAD_BYTE = b"\xed"


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored or answered (NUL, a lone surrogate), or ``None``."""
    if "\x00" in text:
        return NUL_MESSAGE
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


async def reject_invalid_text(request: Request) -> None:
    """Refuse text the store cannot keep (422), in the path, the query or a JSON body.

    PostgreSQL cannot store NUL characters, and a lone surrogate (JSON allows the escape
    ``\\ud800``) is no character: it cannot be encoded to UTF-8, stored or sent back.
    """
    found = _in_path_or_query(request) or await _in_body(request)
    if found is not None:
        where, message = found
        raise RequestValidationError([{"loc": where, "msg": message, "type": "value_error"}])


def _in_path_or_query(request: Request) -> tuple[tuple[Any, ...], str] | None:
    if (problem := text_problem(request.scope["path"])) is not None:
        return ("path",), problem
    for name, value in request.query_params.multi_items():
        if (problem := text_problem(name)) is not None:
            return ("query",), problem
        if (problem := text_problem(value)) is not None:
            return ("query", name), problem
    return None


async def _in_body(request: Request) -> tuple[tuple[Any, ...], str] | None:
    body = await request.body()
    lowered = body.lower()
    if not any(escape in lowered for escape in _SUSPECT_ESCAPES) and (
        _SURROGATE_LEAD_BYTE not in body
    ):
        return None
    found = _first_invalid_text(_parsed(body))
    return None if found is None else (("body", *found[0]), found[1])


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON (or nested too deep): the body's own parsing reports it


def _first_invalid_text(value: Any) -> tuple[tuple[Any, ...], str] | None:
    """Where (a location of keys and indexes) a JSON value holds invalid text, and why.

    A key that is invalid is reported at its object, so the location stays printable.
    """
    pending: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while pending:  # a loop, not recursion: bodies may nest as deep as json.loads allows
        where, item = pending.pop()
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                return where, problem
        elif isinstance(item, dict):
            for key, child in item.items():
                if (problem := text_problem(key)) is not None:
                    return where, problem
                pending.append(((*where, key), child))
        elif isinstance(item, list):
            pending.extend(((*where, index), child) for index, child in enumerate(item))
    return None


def require_token(settings: SettingsDep, credentials: Credentials) -> None:
    """Refuse the request (401) unless it carries the API token, when one is set."""
    expected = settings.api_token
    if not expected:
        return
    given = "" if credentials is None else credentials.credentials
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="this endpoint needs the API token: send 'Authorization: Bearer <token>' "
            "with the value of FACTORY_API_TOKEN",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_reader(settings: SettingsDep, credentials: Credentials) -> None:
    """Like :func:`require_token`, but only when the server listens off loopback."""
    if not settings.loopback:
        require_token(settings, credentials)


Writer = Depends(require_token)
Reader = Depends(require_reader)
