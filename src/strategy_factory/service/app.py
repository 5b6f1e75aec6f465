"""The FastAPI application: the door, the routers, error responses, the coordinator and
local workers.

``create_app()`` opens the store (migrating it) and wires everything; starting the app
(its lifespan) resumes unfinished runs and starts ``settings.workers`` local worker
processes, and stopping it lets go of both and stops the workflows it runs (each in a
process of its own, :mod:`~strategy_factory.service.workflow_runner`). Every request
first passes the door (:mod:`~strategy_factory.service.middleware`: security headers,
Host and Origin checks, the body limit) and the text guard; errors map onto status codes in
:mod:`~strategy_factory.service.responses`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles

from strategy_factory import __version__
from strategy_factory.data import BarCatalog
from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.coordinator import Coordinator, ExecutorFactory, executors_for
from strategy_factory.service.deps import reject_invalid_text
from strategy_factory.service.learning_runner import LearningRunner
from strategy_factory.service.local_workers import LocalWorkers
from strategy_factory.service.middleware import install_middleware
from strategy_factory.service.report_validations import FOLDER, ReportValidations
from strategy_factory.service.responses import FiniteJSONResponse, add_error_handlers
from strategy_factory.service.routes import (
    champions,
    dashboard,
    docs,
    evolve,
    features,
    hypotheses,
    jobs,
    learning,
    promoted,
    report_validations,
    runs,
    system,
    understanding,
    workflows,
)
from strategy_factory.service.routes.dashboard import STATIC_DIR
from strategy_factory.service.workflow_runner import WorkflowRunner
from strategy_factory.store import create_store

__all__ = ["FiniteJSONResponse", "create_app"]

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings | None = None, executor_factory: ExecutorFactory | None = None
) -> FastAPI:
    """The service for ``settings`` (default: from the environment).

    ``executor_factory(store, run_id)`` gives each run its executor; by default the settings'
    (:meth:`ServiceSettings.executor_settings`): the durable queue for workers, or the
    Dask cluster.
    """
    settings = settings or ServiceSettings()
    executors = executor_factory or executors_for(settings.executor_settings())
    store = create_store(settings.db)
    coordinator = Coordinator(
        store,
        executors,
        lease_seconds=settings.run_lease_seconds,
        lost_worker_seconds=settings.live_worker_seconds,
    )
    workers = LocalWorkers(settings.workers, settings.db)
    workflow_runner = WorkflowRunner(
        store, settings.db, settings.workflow_slots, executor=settings.executor_settings()
    )
    validations = ReportValidations(store, settings.results.resolve() / FOLDER, settings.chromium)
    learning_runner = LearningRunner(
        store, BarCatalog(settings.bars_dir), settings.learning_poll_seconds, coordinator.launch
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        resumed = coordinator.start()
        if resumed:
            log.info("resuming runs %s", ", ".join(resumed))
        workers.start()
        learning_runner.start()
        try:
            yield
        finally:
            learning_runner.shutdown()
            workflow_runner.shutdown()
            workers.stop()
            coordinator.shutdown()
            store.close()

    app = FastAPI(
        title="Strategy Factory",
        version=__version__,
        description=(
            "Evolution runs, multi-phase workflows, the job queue, promoted strategies and "
            "the dashboard."
        ),
        default_response_class=FiniteJSONResponse,
        lifespan=lifespan,
        dependencies=[Depends(reject_invalid_text)],
        # The docs page is served by routes/docs.py, under a Content-Security-Policy.
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.coordinator = coordinator
    app.state.workflow_runner = workflow_runner
    app.state.learning_runner = learning_runner
    app.state.report_validations = validations
    for module in (
        system,
        evolve,
        runs,
        promoted,
        jobs,
        workflows,
        learning,
        understanding,
        report_validations,
        champions,
        hypotheses,
        features,
        dashboard,
        docs,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_error_handlers(app)
    install_middleware(app, settings)
    return app
