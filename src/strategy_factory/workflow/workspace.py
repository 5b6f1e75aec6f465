"""A workflow's folder: its files, its manifest, and atomic writes.

``results/<workflow_id>/`` holds ``signals/`` (Parquet), ``performance/``, ``analysis/``
(JSON), ``checkpoints/`` (finished pieces of an unfinished phase) and
``metadata/workflow.json``, the manifest: the id, creation time, every path, the
resolved config and periods, each phase's state with the hashes of the files it read and
wrote, and the edits a user made between phases. Every file is written to a temporary
name and renamed, so a killed process leaves either the old file or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strategy_factory.errors import FactoryError
from strategy_factory.json_values import canonical_bytes

FOLDERS = ("signals", "performance", "analysis", "checkpoints", "metadata")
MANIFEST = "metadata/workflow.json"
PHASE_STATES = ("pending", "running", "done", "failed")


def new_workflow_id() -> str:
    """A fresh id: creation day plus random hex (sortable, unguessable enough)."""
    return f"wf-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4)}"


def now() -> str:
    """The current UTC time as ISO text."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    temporary.replace(path)


def write_json(path: Path, value: Any, indent: bool = True) -> None:
    """Canonical JSON (sorted keys, non-finite numbers as null), written atomically."""
    write_bytes(path, canonical_bytes(value, indent))


def read_json(path: Path) -> Any:
    """A JSON file, with an error naming the file when it is missing or malformed."""
    if not path.is_file():
        raise FactoryError(f"{path}: missing (a phase that writes it has to run first)")
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise FactoryError(f"{path}: not valid JSON: {exc}") from exc


def write_parquet(
    path: Path,
    frame: pd.DataFrame | pa.Table,
    delta: Sequence[str] = (),
    split: Sequence[str] = (),
    metadata: dict[str, str] | None = None,
) -> None:
    """A frame (or an Arrow table) as zstd-compressed Parquet, atomically (no pandas index
    or timestamps added; ``metadata`` the only key-value metadata).

    Columns are dictionary-encoded but for ``delta``: integer or timestamp columns that
    change by small steps (bar numbers, a bar index, signals), stored as differences;
    and ``split``: float columns of many distinct values (prices), their bytes regrouped
    for the compressor. Both are smaller and faster to write than a dictionary.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(frame, pd.DataFrame):
        frame = pa.Table.from_pandas(frame, preserve_index=False)
    table = frame.replace_schema_metadata(metadata)
    encodings: dict[str, Any] = {}
    if delta or split:  # a column is dictionary-encoded or has an encoding of its own
        own = {
            **dict.fromkeys(delta, "DELTA_BINARY_PACKED"),
            **dict.fromkeys(split, "BYTE_STREAM_SPLIT"),
        }
        encodings["use_dictionary"] = [name for name in table.column_names if name not in own]
        encodings["column_encoding"] = own
    pq.write_table(table, temporary, compression="zstd", write_statistics=False, **encodings)
    temporary.replace(path)


def write_arrow(path: Path, frame: pd.DataFrame) -> None:
    """A frame of plain columns as an Arrow IPC file, atomically: a checkpoint, written
    and read back in a fraction of Parquet's time (outputs are Parquet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = pa.table({name: frame[name].to_numpy() for name in frame.columns})
    with pa.OSFile(str(temporary), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
        out.write_table(table)
    temporary.replace(path)


def read_arrow(path: Path) -> pd.DataFrame:
    """A file written by :func:`write_arrow`, with an error naming the file."""
    try:
        with pa.memory_map(str(path)) as source:
            return pa.ipc.open_file(source).read_all().to_pandas()
    except (OSError, pa.ArrowInvalid) as exc:
        raise FactoryError(f"{path}: not a readable Arrow file: {exc}") from exc


def read_parquet(path: Path) -> pd.DataFrame:
    """A Parquet file written by :func:`write_parquet`, with an error naming the file."""
    return read_parquet_columns(path, None)


def read_parquet_columns(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """Some columns (None: all) of a Parquet file, with an error naming the file."""
    if not path.is_file():
        raise FactoryError(f"{path}: missing (a phase that writes it has to run first)")
    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except Exception as exc:
        raise FactoryError(f"{path}: not a readable Parquet file: {exc}") from exc


@dataclass(frozen=True)
class Workspace:
    """The folder of one workflow and its manifest."""

    root: Path

    @property
    def id(self) -> str:
        return self.root.name

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def path(self, relative: str) -> Path:
        """An absolute path inside the workspace."""
        return self.root / relative

    def relative(self, path: Path) -> str:
        """``path`` relative to the workspace root (as the manifest records it)."""
        return path.relative_to(self.root).as_posix()

    @classmethod
    def create(cls, results: Path, workflow_id: str, manifest: dict[str, Any]) -> Workspace:
        """Make the folders and write the first manifest."""
        root = results / workflow_id
        if root.exists():
            raise FactoryError(f"{root} exists already; a workflow id is used once")
        for folder in FOLDERS:
            (root / folder).mkdir(parents=True)
        workspace = cls(root)
        manifest["paths"] = {folder: str(root / folder) for folder in FOLDERS} | {
            "root": str(root),
            "manifest": str(workspace.manifest_path),
        }
        workspace.save(manifest)
        return workspace

    @classmethod
    def open(cls, results: Path, workflow_id: str) -> Workspace:
        """The workspace of an existing workflow (its manifest must be readable)."""
        root = results / workflow_id
        workspace = cls(root)
        if not workspace.manifest_path.is_file():
            raise FactoryError(
                f"no workflow {workflow_id!r} in {results} (no {MANIFEST}); "
                "see factory workflow list"
            )
        workspace.manifest()
        return workspace

    def manifest(self) -> dict[str, Any]:
        """The manifest as stored."""
        data = read_json(self.manifest_path)
        if not isinstance(data, dict) or "phases" not in data or "config" not in data:
            raise FactoryError(f"{self.manifest_path}: not a workflow manifest (no phases/config)")
        return data

    def save(self, manifest: dict[str, Any]) -> None:
        """Write the manifest atomically."""
        write_json(self.manifest_path, manifest)


def list_workspaces(results: Path) -> Iterator[Workspace]:
    """Every workflow folder under ``results`` with a manifest, newest first."""
    if not results.is_dir():
        return
    found = [p for p in results.iterdir() if (p / MANIFEST).is_file()]
    for root in sorted(found, key=lambda p: (p / MANIFEST).stat().st_mtime, reverse=True):
        yield Workspace(root)
