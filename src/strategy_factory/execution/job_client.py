"""The HTTP job client: a worker that reaches the queue through the service
(``factory worker --server URL``), for machines that cannot reach the database.

Endpoints (JSON bodies; ``Authorization: Bearer $FACTORY_API_TOKEN`` when the variable is
set): ``POST /jobs/claim``, ``/jobs/{id}/heartbeat``, ``/jobs/{id}/complete``,
``/jobs/{id}/fail`` and ``/workers/heartbeat``. A connection error, a timeout or a 502/503/504
(the server restarting) is :class:`SourceUnavailableError`, which the worker loop waits out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from strategy_factory.errors import FactoryError
from strategy_factory.execution.job_source import Lease, SourceUnavailableError, this_host
from strategy_factory.settings import get_settings

if TYPE_CHECKING:
    import httpx

_UNAVAILABLE = {502, 503, 504}


class HttpJobSource:
    """Jobs from a Strategy Factory service at ``server`` (e.g. ``http://10.0.0.5:8400``).

    ``token`` defaults to ``FACTORY_API_TOKEN``; ``transport`` lets tests talk to an
    in-process app.
    """

    def __init__(
        self,
        server: str,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx  # (and click, which it imports) only for a worker that uses HTTP

        token = token if token is not None else get_settings().api_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.server = server.rstrip("/")
        self._client = httpx.Client(
            base_url=self.server, headers=headers, timeout=timeout, transport=transport
        )

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        import httpx

        try:
            response = self._client.post(path, json=body)
        except httpx.TransportError as exc:
            raise SourceUnavailableError(f"server {self.server} unreachable: {exc!r}") from exc
        if response.status_code in _UNAVAILABLE:
            raise SourceUnavailableError(
                f"server {self.server} answered {response.status_code} to {path}"
            )
        if response.status_code in (401, 403):
            raise FactoryError(
                f"server {self.server} refused the worker ({response.status_code}): set "
                "FACTORY_API_TOKEN to the service's token"
            )
        if response.is_error:
            raise FactoryError(
                f"server {self.server} rejected POST {path} ({response.status_code}): "
                f"{response.text[:300]}"
            )
        return response.json()

    def register(self, worker_id: str | None) -> str:
        hostname, pid = this_host()
        worker_id = worker_id or f"{hostname}-{pid}-{uuid.uuid4().hex[:6]}"
        self.worker_heartbeat(worker_id, None)
        return worker_id

    def claim(
        self, worker_id: str, kinds: Sequence[str] | None, lease_seconds: float, limit: int
    ) -> list[Lease]:
        body = {
            "worker_id": worker_id,
            "kinds": None if kinds is None else list(kinds),
            "lease_seconds": lease_seconds,
        }
        job = self._post("/jobs/claim", body)["job"]
        if job is None:
            return []
        return [
            Lease(
                id=int(job["id"]),
                kind=job["kind"],
                payload=job["payload"],
                lease_token=job["lease_token"],
                attempts=int(job["attempts"]),
                run_id=job.get("run_id"),
            )
        ]

    def heartbeat(self, lease: Lease, lease_seconds: float, worker_id: str) -> bool:
        body = {"lease_token": lease.lease_token, "lease_seconds": lease_seconds}
        answer = self._post(f"/jobs/{lease.id}/heartbeat", body | {"worker_id": worker_id})
        return bool(answer["renewed"])

    def complete(self, completions: Sequence[tuple[Lease, Any]]) -> list[int]:
        won = []
        for lease, result in completions:
            body = {"lease_token": lease.lease_token, "result": result}
            if self._post(f"/jobs/{lease.id}/complete", body)["completed"]:
                won.append(lease.id)
        return won

    def fail(self, lease: Lease, error: str) -> bool:
        body = {"lease_token": lease.lease_token, "error": error}
        return bool(self._post(f"/jobs/{lease.id}/fail", body)["failed"])

    def release(self, lease: Lease) -> bool:
        return False  # the service has no release endpoint: the lease runs out instead

    def worker_heartbeat(self, worker_id: str, current_job_id: int | None) -> None:
        hostname, pid = this_host()
        body = {
            "worker_id": worker_id,
            "hostname": hostname,
            "pid": pid,
            "current_job_id": current_job_id,
        }
        self._post("/workers/heartbeat", body)

    def stop(self, worker_id: str) -> None:
        self._client.close()  # no endpoint marks a worker stopped: its heartbeat ages out
