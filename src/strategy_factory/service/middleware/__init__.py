"""The service's door: pure ASGI middleware every request passes before any route.

From the outside in: security headers (on every answer, refusals included), the Host
and Origin checks, then the body limit. Errors that escape the application entirely
(500) are answered outside all middleware, so that handler adds the headers itself.
"""

from __future__ import annotations

from fastapi import FastAPI

from strategy_factory.service.config import ServiceSettings
from strategy_factory.service.middleware.body_limit import BodyLimit
from strategy_factory.service.middleware.headers import SECURITY_HEADERS, SecurityHeaders
from strategy_factory.service.middleware.hosts import HostCheck, TrustedHosts

__all__ = [
    "SECURITY_HEADERS",
    "BodyLimit",
    "HostCheck",
    "SecurityHeaders",
    "TrustedHosts",
    "install_middleware",
]


def install_middleware(app: FastAPI, settings: ServiceSettings) -> None:
    """Put the door's middleware on ``app`` in its order (the last added is outermost)."""
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        max_result_bytes=settings.max_result_bytes,
    )
    app.add_middleware(HostCheck, trusted=TrustedHosts(settings))
    app.add_middleware(SecurityHeaders)
