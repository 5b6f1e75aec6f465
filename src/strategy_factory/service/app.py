"""The FastAPI application: routers, error responses, the coordinator and local workers.

``create_app()`` opens the store (migrating it) and wires everything; starting the app
(its lifespan) resumes unfinished runs and starts ``settings.workers`` local worker
processes, and stopping it lets go of both. Errors map onto status codes in one place:
a malformed body is 422 (one message per field), an unknown symbol, run or model 404,
an impossible configuration (:class:`FactoryError`) 400, a conflict with stored rows 409,
an unreachable store 503.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import IntegrityError, OperationalError

from strategy_factory import __version__
from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.coordinator import Coordinator, ExecutorFactory, queue_executor
from strategy_factory.service.deps import reject_nul
from strategy_factory.service.local_workers import LocalWorkers
from strategy_factory.service.middleware import install_middleware
from strategy_factory.service.routes import (
    dashboard,
    evolve,
    features,
    jobs,
    promoted,
    runs,
    system,
)
from strategy_factory.service.routes.dashboard import STATIC_DIR
from strategy_factory.store import create_store

log = logging.getLogger(__name__)


class FiniteJSONResponse(JSONResponse):
    """JSON with NaN and ±inf written as null (metrics can be undefined; JSON has no NaN)."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            _finite(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    return value


def create_app(
    settings: ServiceSettings | None = None, executor_factory: ExecutorFactory = queue_executor
) -> FastAPI:
    """The service for ``settings`` (default: from the environment).

    ``executor_factory(store, run_id)`` gives each run its executor; the default puts
    units into the durable queue for workers.
    """
    settings = settings or ServiceSettings()
    store = create_store(settings.db)
    coordinator = Coordinator(store, executor_factory)
    workers = LocalWorkers(settings.workers, settings.db)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        resumed = coordinator.resume()
        if resumed:
            log.info("resuming runs %s", ", ".join(resumed))
        workers.start()
        try:
            yield
        finally:
            workers.stop()
            coordinator.shutdown()
            store.close()

    app = FastAPI(
        title="Strategy Factory",
        version=__version__,
        description="Evolution runs, the job queue, promoted strategies and the dashboard.",
        default_response_class=FiniteJSONResponse,
        lifespan=lifespan,
        dependencies=[Depends(reject_nul)],
    )
    app.state.settings = settings
    app.state.store = store
    app.state.coordinator = coordinator
    for module in (system, evolve, runs, promoted, jobs, features, dashboard):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_error_handlers(app)
    install_middleware(app, settings)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
        message = "; ".join(f"{_place(e['loc'])}: {e['msg']}" for e in errors)
        return FiniteJSONResponse(
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
            content={"detail": errors, "message": message},
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(_: Request, exc: NotFoundError) -> JSONResponse:
        return FiniteJSONResponse(
            status_code=status.HTTP_404_NOT_FOUND, content={"detail": str(exc)}
        )

    @app.exception_handler(FactoryError)
    async def _user_mistake(_: Request, exc: FactoryError) -> JSONResponse:
        return FiniteJSONResponse(
            status_code=status.HTTP_400_BAD_REQUEST, content={"detail": str(exc)}
        )

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        return FiniteJSONResponse(
            status_code=status.HTTP_409_CONFLICT,
            content={"detail": f"the request conflicts with what is stored: {exc.orig}"},
        )

    @app.exception_handler(OperationalError)
    async def _store_down(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("store unreachable: %s", exc)
        return FiniteJSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": f"the store is unreachable: {' '.join(str(exc.orig).split())}"},
        )


def _place(loc: list[Any]) -> str:
    """``body.criteria.sqn_100`` from a pydantic location (the ``body``/``query`` kept)."""
    return ".".join(str(part) for part in loc) or "request"
