"""The service's settings (pydantic-settings) and the rules that guard an exposed API.

Every field can be set with a ``FACTORY_`` variable; ``factory serve`` options override
them. Binding to anything but a loopback address exposes the API to the network, so it
needs ``FACTORY_API_TOKEN``; binding to every address (``0.0.0.0``) also needs the names
clients reach the server by (``FACTORY_TRUSTED_HOSTS``), which the server cannot guess.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from strategy_factory.errors import FactoryError
from strategy_factory.execution.settings import ExecutorSettings
from strategy_factory.settings import Settings

_LOOPBACK_NAMES = {"localhost", "ip6-localhost", "ip6-loopback"}
_EVERY_ADDRESS = {"", "0.0.0.0", "::"}
ANY_HOST = "*"
_LOG_FORMAT = "%(levelname)-9s %(name)s: %(message)s"


class ServiceSettings(Settings):
    """Settings of ``factory serve``: the store, the token, where to listen, local workers
    and workflow slots."""

    host: str = Field("127.0.0.1", description="Address to bind (FACTORY_HOST).")
    port: int = Field(8400, ge=0, le=65535, description="Port to bind (FACTORY_PORT).")
    workers: int = Field(
        0, ge=0, description="Local worker processes started with the server (FACTORY_WORKERS)."
    )
    executor: Literal["queue", "dask"] | None = Field(
        None,
        description=(
            "Where the runs this server drives (API, learning searches) run their units "
            "(FACTORY_EXECUTOR): the durable job queue, or the Dask cluster at "
            "FACTORY_DASK_SCHEDULER, which also runs its workflows' parameter discovery "
            "(with the queue, a workflow runs in its own process). Default: dask when "
            "FACTORY_DASK_SCHEDULER is set, else queue."
        ),
    )
    workflow_slots: int = Field(
        1,
        ge=0,
        le=64,
        description=(
            "Workflows this server runs at once, each in a process of its own "
            "(FACTORY_WORKFLOW_SLOTS); more wait as pending. A workflow's search already "
            "uses every core, hence 1. 0 accepts workflows but starts none."
        ),
    )
    learning_poll_seconds: float = Field(
        60.0,
        gt=0,
        le=3600,
        description=(
            "How often the server looks whether the learning schedule is due "
            "(FACTORY_LEARNING_POLL_SECONDS); the schedule itself is in the learning settings."
        ),
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
    trusted_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names clients use to reach the server, besides loopback names and "
        "the bound address (FACTORY_TRUSTED_HOSTS, comma separated; '*' turns the Host "
        "check off, which re-opens DNS rebinding).",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=0,
        description="Largest request body accepted, in bytes (FACTORY_MAX_BODY_BYTES).",
    )
    max_result_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description=(
            "Largest job result accepted (POST /jobs/{id}/complete carries model artifacts), "
            "in bytes (FACTORY_MAX_RESULT_BYTES)."
        ),
    )

    @field_validator("trusted_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [name.strip() for name in text.split(",") if name.strip()]
        return value

    @property
    def loopback(self) -> bool:
        """Whether the server listens on this machine only."""
        return is_loopback(self.host)

    @property
    def every_address(self) -> bool:
        """Whether the server listens on every address of the machine (0.0.0.0, ::)."""
        return self.host.strip().strip("[]") in _EVERY_ADDRESS

    def executor_settings(self) -> ExecutorSettings:
        """The runs' executor, checked as every door checks it (:class:`ExecutorSettings`)."""
        kind = self.executor or ("dask" if self.dask_scheduler else "queue")
        given = {"executor": kind, "scheduler": self.dask_scheduler if kind == "dask" else None}
        return ExecutorSettings.load(given, "factory serve executor")

    def check_exposure(self) -> None:
        """Refuse to expose the API off this machine without a token, or without the names
        clients reach it by when it listens on every address."""
        if not self.loopback and not self.api_token:
            raise FactoryError(
                f"binding to {self.host} exposes the API to the network: set FACTORY_API_TOKEN "
                "to a long random secret (clients send it as 'Authorization: Bearer <token>'), "
                "or bind to 127.0.0.1"
            )
        if self.every_address and not self.trusted_hosts:
            raise FactoryError(
                f"binding to {self.host} accepts requests for any host name: set "
                "FACTORY_TRUSTED_HOSTS to the names clients use to reach this server "
                "(comma separated, e.g. 'factory.internal,10.0.0.5'), or bind to one address"
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
