"""The service's door: pure ASGI middleware every request passes before any route."""

from __future__ import annotations

from fastapi import FastAPI

from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.middleware.hosts import HostCheck, TrustedHosts, host_name

__all__ = ["HostCheck", "TrustedHosts", "host_name", "install_middleware"]


def install_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """Put the door's middleware on ``app`` in its order (the last added is outermost)."""
    app.add_middleware(HostCheck, trusted=TrustedHosts(settings))
