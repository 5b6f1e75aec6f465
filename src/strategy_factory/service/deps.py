"""What every route depends on: the store, the coordinator, and the token checks.

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


SettingsDep = Annotated[ServiceSettings, Depends(get_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
CoordinatorDep = Annotated[Coordinator, Depends(get_coordinator)]


async def reject_nul(request: Request) -> None:
    """Refuse text with NUL characters (422): PostgreSQL cannot store or compare them."""
    where = None
    if "\x00" in request.scope["path"]:
        where = "path"
    elif b"%00" in request.scope["query_string"]:
        where = "query"
    elif b"\\u0000" in (body := await request.body()).lower() and _holds_nul(_parsed(body)):
        where = "body"
    if where is not None:
        message = "text must not contain NUL characters (\\u0000): the store cannot keep them"
        raise RequestValidationError([{"loc": (where,), "msg": message, "type": "value_error"}])


def _parsed(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None  # not JSON: the body's own validation reports it


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


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
