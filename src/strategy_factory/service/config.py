"""The service's settings (pydantic-settings) and the rule that guards an exposed API.

Every field can be set with a ``FACTORY_`` variable; ``factory serve`` options override
them. Binding to anything but a loopback address exposes the API to the network, so it
needs ``FACTORY_API_TOKEN``.
"""

from __future__ import annotations

import ipaddress
import logging

from pydantic import Field

from strategy_factory.errors import FactoryError
from strategy_factory.settings import Settings

_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}
_LOG_FORMAT = "%(levelname)-9s %(name)s: %(message)s"


class ServiceSettings(Settings):
    """Settings of ``factory serve``: the store, the token, where to listen, local workers."""

    host: str = Field("127.0.0.1", description="Address to bind (FACTORY_HOST).")
    port: int = Field(8400, ge=0, le=65535, description="Port to bind (FACTORY_PORT).")
    workers: int = Field(
        0, ge=0, description="Local worker processes started with the server (FACTORY_WORKERS)."
    )
    live_worker_seconds: float = Field(
        60.0,
        gt=0,
        description="A worker whose last heartbeat is older is not live, and is marked lost.",
    )
    run_lease_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description=(
            "Lease of a run this server drives, renewed every third of it "
            "(FACTORY_RUN_LEASE_SECONDS). A run whose driver stopped heartbeating is taken "
            "over once it expires."
        ),
    )

    @property
    def loopback(self) -> bool:
        """Whether the server listens on this machine only."""
        return is_loopback(self.host)

    def check_exposure(self) -> None:
        """Refuse to expose the API off this machine without a token."""
        if not self.loopback and not self.api_token:
            raise FactoryError(
                f"binding to {self.host} exposes the API to the network: set FACTORY_API_TOKEN "
                "to a long random secret (clients send it as 'Authorization: Bearer <token>'), "
                "or bind to 127.0.0.1"
            )


def is_loopback(host: str) -> bool:
    """Whether ``host`` names this machine only (127.0.0.0/8, ::1, localhost)."""
    name = host.strip().strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def configure_logging(prefix: str = "") -> None:
    """Log the factory's INFO messages to stderr, next to uvicorn's (``prefix`` first)."""
    logging.basicConfig(level=logging.INFO, format=prefix + _LOG_FORMAT)
    # Every store connection reports its migration context; only problems matter here.
    logging.getLogger("alembic").setLevel(logging.WARNING)
