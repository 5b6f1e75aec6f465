"""Workflows: the store's mirror of each workflow's manifest.

A workflow's manifest (``results/<id>/metadata/workflow.json``) stays the source of
truth; :meth:`WorkflowRepository.record` rewrites the workflow's row from it, and the
runner calls it after every manifest save. Recording the same manifest twice changes
nothing, so a write retried after a lost connection is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from strategy_factory.errors import FactoryError, NotFoundError
from strategy_factory.store.database import Database
from strategy_factory.store.records import WorkflowRecord, WorkflowState, parse_enum
from strategy_factory.store.tables import workflows

# What the row keeps of each phase entry (the hashes of files read and written stay in
# the manifest).
PHASE_FIELDS = (
    "name",
    "type",
    "state",
    "progress",
    "summary",
    "error",
    "started_at",
    "finished_at",
)


class WorkflowRepository:
    """The ``workflows`` table."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def record(self, manifest: Mapping[str, Any]) -> WorkflowRecord:
        """Insert or rewrite the workflow's row from its manifest; the row as recorded."""
        values = _values(manifest)
        changed = {name: value for name, value in values.items() if name != "id"}
        statement = (
            self._db.insert(workflows)
            .values(values)
            .on_conflict_do_update(index_elements=[workflows.c.id], set_=changed)
            .returning(*workflows.c)
        )
        return self._db.retrying(lambda c, _: WorkflowRecord.from_row(c.execute(statement).one()))

    def get(self, workflow_id: str) -> WorkflowRecord:
        """The workflow ``workflow_id`` (raises :class:`NotFoundError` when there is none)."""
        query = select(workflows).where(workflows.c.id == workflow_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        if row is None:
            raise NotFoundError(
                f"no workflow {workflow_id!r} in the store: list workflows to see the known ids"
            )
        return WorkflowRecord.from_row(row)

    def recent(self, limit: int = 50, state: str | None = None) -> list[WorkflowRecord]:
        """Workflows newest first, optionally only those in ``state``."""
        query = (
            select(workflows)
            .order_by(workflows.c.created_at.desc(), workflows.c.id.desc())
            .limit(limit)
        )
        if state is not None:
            wanted = parse_enum(WorkflowState, state, "workflow state")
            query = query.where(workflows.c.state == wanted.value)
        return self._db.reading(
            lambda c: [WorkflowRecord.from_row(row) for row in c.execute(query)]
        )


def _values(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The row of a manifest, with an error naming what a malformed one lacks."""
    try:
        return {
            "id": str(manifest["id"]),
            "name": str(manifest["name"]),
            "state": parse_enum(WorkflowState, manifest["state"], "workflow state").value,
            "workspace": str(manifest["paths"]["root"]),
            "config": dict(manifest["config"]),
            "phases": [{k: entry.get(k) for k in PHASE_FIELDS} for entry in manifest["phases"]],
            "edits": [dict(edit) for edit in manifest.get("edits") or []],
            "created_at": _moment(manifest["created_at"]),
            "updated_at": _moment(manifest.get("updated_at") or manifest["created_at"]),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FactoryError(f"not a workflow manifest ({type(exc).__name__}: {exc})") from exc


def _moment(text: Any) -> datetime:
    """A manifest's ISO time (UTC when it names no zone)."""
    stamp = text if isinstance(text, datetime) else datetime.fromisoformat(str(text))
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
