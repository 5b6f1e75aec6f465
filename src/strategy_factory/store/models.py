"""Trained models and the fingerprint registry that keeps any configuration from training twice.

Two runs (on one server or several) may need the same model at once. Before training, a
run claims the fingerprint (:meth:`ModelRepository.claim_training`, a row with a lease);
the others wait until the model is registered, or the claim's lease runs out (its holder
died) and one of them claims it in turn. The registry itself settles any race that is
left: the insert is ``ON CONFLICT DO NOTHING`` followed by a read of the row, so exactly
one row exists and every caller gets the same winning model id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, or_, select, update

from strategy_factory.errors import NotFoundError
from strategy_factory.store.columns import utc_after, utcnow
from strategy_factory.store.database import Database
from strategy_factory.store.records import FingerprintHit, ModelRecord
from strategy_factory.store.tables import model_artifacts as artifacts
from strategy_factory.store.tables import model_fingerprints as fingerprints
from strategy_factory.store.tables import models
from strategy_factory.store.tables import training_claims as claims


class ModelRepository:
    """The ``models`` and ``model_fingerprints`` tables."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def add(
        self,
        *,
        fingerprint: str,
        algorithm: str,
        symbol: str,
        features: Sequence[str],
        run_id: str | None = None,
        generation: int = 0,
        chosen_config: Mapping[str, Any] | None = None,
        validation_metrics: Mapping[str, Any] | None = None,
        importance: Mapping[str, Any] | None = None,
        data_ranges: Mapping[str, Any] | None = None,
        artifact_path: str | None = None,
        model_id: str | None = None,
    ) -> ModelRecord:
        """Record a trained model; ``features`` keep their order, ``model_id`` defaults to a uuid.

        ``importance`` holds the method and the scores, e.g.
        ``{"method": "permutation", "scores": {"rsi_14": 0.12, ...}}``.
        """
        values = _model_values(
            {
                "model_id": model_id,
                "run_id": run_id,
                "generation": generation,
                "fingerprint": fingerprint,
                "algorithm": algorithm,
                "symbol": symbol,
                "features": features,
                "chosen_config": chosen_config,
                "validation_metrics": validation_metrics,
                "importance": importance,
                "data_ranges": data_ranges,
                "artifact_path": artifact_path,
            }
        )
        insert = models.insert().values(values)
        existing = select(models).where(models.c.id == values["id"])

        def operation(connection: Connection, retried: bool) -> ModelRecord:
            if not (retried and connection.execute(existing).first()):
                connection.execute(insert)
            return ModelRecord.from_row(connection.execute(existing).one())

        return self._db.retrying(operation)

    def add_trained(
        self,
        model: Mapping[str, Any],
        artifact: bytes,
        fingerprint_config: str,
        fingerprint_version: str | int,
    ) -> str:
        """Record a trained model, its artifact and its fingerprint in ONE transaction.

        ``model`` holds the keyword arguments of :meth:`add` (``model_id`` included). A
        process killed at any moment leaves either all three or none, so a resumed run
        never retrains a model it already has. Returns the id of the model that holds the
        fingerprint: this one, or a racing trainer's that got there first (then nothing of
        this one is written, so no orphan model or artifact is left behind).
        """
        values = _model_values(model)
        register = self._claim(
            model["fingerprint"], values["id"], fingerprint_config, fingerprint_version
        )

        def operation(connection: Connection, _: bool) -> str:
            if self._db.dialect == "postgresql":
                # Trainers of one fingerprint take turns here, so the loser writes nothing.
                key = func.hashtext(model["fingerprint"])
                connection.execute(select(func.pg_advisory_xact_lock(key)))
            holder = connection.execute(_holder(model["fingerprint"])).scalar_one_or_none()
            if holder is not None:  # another trainer's model, or this one's committed retry
                return holder
            connection.execute(models.insert().values(values))
            connection.execute(artifacts.insert().values(model_id=values["id"], content=artifact))
            connection.execute(register)
            return values["id"]

        return self._db.retrying(operation)

    def get(self, model_id: str) -> ModelRecord:
        """The model ``model_id`` (raises :class:`NotFoundError` when there is none)."""
        query = select(models).where(models.c.id == model_id)
        row = self._db.reading(lambda connection: connection.execute(query).first())
        if row is None:
            raise NotFoundError(f"no model {model_id!r}: list a run's models to see the known ids")
        return ModelRecord.from_row(row)

    def of_run(self, run_id: str, generation: int | None = None) -> list[ModelRecord]:
        """A run's models in training order, optionally of one generation only."""
        query = select(models).where(models.c.run_id == run_id)
        if generation is not None:
            query = query.where(models.c.generation == generation)
        query = query.order_by(models.c.generation, models.c.created_at, models.c.id)
        return self._db.reading(lambda c: [ModelRecord.from_row(row) for row in c.execute(query)])

    def register_fingerprint(
        self, fingerprint: str, model_id: str, config: str, fingerprint_version: str | int
    ) -> str:
        """Claim ``fingerprint`` for ``model_id``; returns the id of the model that holds it.

        ``config`` is the canonical JSON text that was hashed. When another model already
        holds the fingerprint (even one registered a moment ago by a racing process), its
        id is returned and nothing is written.
        """
        statement = self._claim(fingerprint, model_id, config, fingerprint_version)

        def operation(connection: Connection, _: bool) -> str:
            connection.execute(statement)
            return connection.execute(_holder(fingerprint)).scalar_one()

        return self._db.retrying(operation)

    def claim_training(
        self,
        fingerprint: str,
        owner_id: str,
        lease_seconds: float,
        run_id: str | None = None,
        dead_owner: str | None = None,
    ) -> bool:
        """Claim the right to train ``fingerprint``; False while another holds a live claim.

        The claim lasts ``lease_seconds`` unless renewed (:meth:`renew_training`); an
        expired claim is taken over. Re-claiming one's own claim renews it. ``dead_owner``:
        a holder known to be dead (a process of this machine that no longer exists), whose
        claim is taken over at once.
        """
        free = or_(claims.c.owner_id == owner_id, claims.c.expires_at < utcnow())
        if dead_owner is not None:
            free = or_(free, claims.c.owner_id == dead_owner)
        expires = utc_after(float(lease_seconds))
        statement = (
            self._db.insert(claims)
            .values(fingerprint=fingerprint, run_id=run_id, owner_id=owner_id, expires_at=expires)
            .on_conflict_do_update(
                index_elements=[claims.c.fingerprint],
                set_={"owner_id": owner_id, "run_id": run_id, "expires_at": expires},
                where=free,
            )
            .returning(claims.c.owner_id)
        )
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def training_holder(self, fingerprint: str) -> str | None:
        """Who holds the claim to train ``fingerprint`` (None: nobody)."""
        query = select(claims.c.owner_id).where(claims.c.fingerprint == fingerprint)
        return self._db.reading(lambda c: c.execute(query).scalar_one_or_none())

    def renew_training(self, fingerprint: str, owner_id: str, lease_seconds: float) -> bool:
        """Extend the caller's claim; False when it was lost (expired and taken over)."""
        statement = (
            update(claims)
            .where(claims.c.fingerprint == fingerprint, claims.c.owner_id == owner_id)
            .values(expires_at=utc_after(float(lease_seconds)))
            .returning(claims.c.fingerprint)
        )
        return self._db.retrying(lambda c, _: c.execute(statement).first() is not None)

    def release_training(self, fingerprint: str, owner_id: str) -> None:
        """Drop the caller's claim (trained and registered, or given up)."""
        statement = delete(claims).where(
            claims.c.fingerprint == fingerprint, claims.c.owner_id == owner_id
        )
        self._db.retrying(lambda c, _: c.execute(statement))

    def _claim(
        self, fingerprint: str, model_id: str, config: str, fingerprint_version: str | int
    ) -> Any:
        return (
            self._db.insert(fingerprints)
            .values(
                fingerprint=fingerprint,
                model_id=model_id,
                config=config,
                fingerprint_version=str(fingerprint_version),
            )
            .on_conflict_do_nothing(index_elements=[fingerprints.c.fingerprint])
        )

    def by_fingerprint(self, fingerprint: str) -> FingerprintHit | None:
        """The model trained for ``fingerprint``, counting the hit; None when it is new."""
        statement = (
            update(fingerprints)
            .where(fingerprints.c.fingerprint == fingerprint)
            .values(hits=fingerprints.c.hits + 1)
            .returning(*fingerprints.c)
        )
        row = self._db.retrying(lambda c, _: c.execute(statement).first())
        return None if row is None else FingerprintHit.from_row(row)

    def save_artifact(self, model_id: str, content: bytes) -> None:
        """Keep the fitted model's artifact bytes; saving twice keeps the first."""
        statement = (
            self._db.insert(artifacts)
            .values(model_id=model_id, content=content)
            .on_conflict_do_nothing(index_elements=[artifacts.c.model_id])
        )
        self._db.retrying(lambda c, _: c.execute(statement))

    def artifact(self, model_id: str) -> bytes:
        """The fitted model's bytes (raises :class:`NotFoundError` when none were saved)."""
        query = select(artifacts.c.content).where(artifacts.c.model_id == model_id)
        content = self._db.reading(lambda c: c.execute(query).scalar_one_or_none())
        if content is None:
            raise NotFoundError(f"no artifact is stored for model {model_id!r}")
        return bytes(content)


def _model_values(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Column values of a model row from the keyword arguments of :meth:`ModelRepository.add`."""
    return {
        "id": fields.get("model_id") or uuid.uuid4().hex,
        "run_id": fields.get("run_id"),
        "generation": fields.get("generation", 0),
        "fingerprint": fields["fingerprint"],
        "algorithm": fields["algorithm"],
        "symbol": fields["symbol"],
        "features": list(fields["features"]),
        "chosen_config": _plain(fields.get("chosen_config")),
        "validation_metrics": _plain(fields.get("validation_metrics")),
        "importance": _plain(fields.get("importance")),
        "data_ranges": _plain(fields.get("data_ranges")),
        "artifact_path": fields.get("artifact_path"),
    }


def _holder(fingerprint: str) -> Any:
    return select(fingerprints.c.model_id).where(fingerprints.c.fingerprint == fingerprint)


def _plain(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return None if value is None else dict(value)
