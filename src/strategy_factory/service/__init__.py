"""The orchestrator service: a FastAPI REST API, the run coordinator and the dashboard.

``create_app(settings)`` builds the app; ``factory serve`` runs it with uvicorn.
"""

from strategy_factory.service.app import create_app
from strategy_factory.service.config import ServiceSettings, configure_logging, is_loopback
from strategy_factory.service.coordinator import Coordinator, InterruptibleExecutor, ServiceShutdown

__all__ = [
    "Coordinator",
    "InterruptibleExecutor",
    "ServiceSettings",
    "ServiceShutdown",
    "configure_logging",
    "create_app",
    "is_loopback",
]
