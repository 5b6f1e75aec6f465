"""Chart validations the server runs: ``factory report RUN --validate`` in the background.

``POST /api/report-validations`` records a validation ``queued`` and a thread of the
server validates the run's report in headless Chromium
(:func:`~strategy_factory.understanding.chart_report.validate_report`): ``running``, then
``done`` (the checks, anomalies and verdict; ``passed`` says whether every check passed)
or ``failed`` (the validation could not run; ``error`` says why). One runs at a time:
Chromium drawing a 5 MB report takes a core for seconds, and a second request while one
is queued or running is refused (409) rather than queued behind it.

Each validation is a folder under ``FACTORY_RESULTS/report-validations/ID/``: its record
``validation.json``, the validated ``report.html`` and the screenshots in
``report-charts/NAME.png``. The folder is the record, so validations survive a restart; one
the server was running when it stopped is marked ``failed`` when the next server starts
(so servers should not share one ``FACTORY_RESULTS``: each would fail the others' running
validations when it starts, and each runs one at a time of its own).
Files are only ever read from that folder, by an id and a screenshot name this module
checks: never a path from the client.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import re
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from strategy_factory.errors import BusyError, FactoryError, NotFoundError
from strategy_factory.json_values import dumps
from strategy_factory.store import Store
from strategy_factory.understanding.chart_report import ChartValidationRequest, validate_report

log = logging.getLogger(__name__)

FOLDER = "report-validations"
RECORD = "validation.json"
REPORT = "report.html"
SCREENSHOTS = "report-charts"
ID_PATTERN = r"^[0-9a-f]{12}$"
UNFINISHED = ("queued", "running")
INTERRUPTED = "the server stopped before this validation finished: start a new one"


class NoBrowserError(FactoryError):
    """This server cannot open a browser; the message says what to install or set."""


class ReportValidations:
    """The server's chart validations, kept as folders under ``root``."""

    def __init__(self, store: Store, root: Path, chromium: Path) -> None:
        self.store = store
        self.root = root
        self.chromium = chromium
        self._lock = threading.Lock()
        self._active: str | None = None
        self._interrupt_unfinished()

    def unavailable(self) -> str | None:
        """Why this server cannot validate charts (no Chromium, no Playwright), or ``None``."""
        if importlib.util.find_spec("playwright") is None:
            return (
                "this server cannot validate charts: Playwright is not installed; install "
                "the charts extra (pip install 'strategy-factory[charts]') and restart it"
            )
        if not self.chromium.is_file():
            return (
                f"this server cannot validate charts: there is no Chromium at {self.chromium}; "
                "install it (apt-get install chromium) or set FACTORY_CHROMIUM to its path, "
                "and restart the server"
            )
        return None

    def start(self, request: ChartValidationRequest) -> dict[str, Any]:
        """Record a validation of ``request.run_id`` and start it in a thread.

        Raises :class:`NotFoundError` for an unknown run, :class:`NoBrowserError`
        without Chromium or Playwright, and :class:`BusyError` while another validation is
        queued or running.
        """
        self.store.runs.get(request.run_id)
        if (reason := self.unavailable()) is not None:
            raise NoBrowserError(reason)
        with self._lock:
            if self._active is not None:
                busy = self.get(self._active)
                raise BusyError(
                    f"chart validation {busy['id']} (run {busy['run_id']}) is {busy['state']}; "
                    "one runs at a time: start this one when it is done"
                )
            record = {
                "id": uuid.uuid4().hex[:12],
                "run_id": request.run_id,
                "state": "queued",
                "created_at": _now(),
                "started_at": None,
                "finished_at": None,
                "error": None,
            }
            (self.root / record["id"]).mkdir(parents=True)
            self._write(record)
            self._active = record["id"]
        threading.Thread(
            target=self._validate, args=(record,), name=f"validate-{record['id']}", daemon=True
        ).start()
        return record

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` validations, newest first."""
        records = [self._read(folder.name) for folder in self._folders()]
        records.sort(key=lambda record: (record["created_at"], record["id"]), reverse=True)
        return records[:limit]

    def get(self, validation_id: str) -> dict[str, Any]:
        """One validation's record (:class:`NotFoundError` when there is none)."""
        if (
            re.fullmatch(ID_PATTERN, validation_id) is None
            or not self._record(validation_id).is_file()
        ):
            raise NotFoundError(
                f"no chart validation {validation_id!r}: see GET /api/report-validations"
            )
        return self._read(validation_id)

    def report(self, validation_id: str) -> Path:
        """The validated report of a finished validation."""
        record = self.get(validation_id)
        if record["state"] != "done":
            raise NotFoundError(
                f"chart validation {validation_id} is {record['state']}: it has no report"
            )
        return self.root / validation_id / REPORT

    def screenshot(self, validation_id: str, name: str) -> Path:
        """The screenshot of chart ``name`` that a finished validation took."""
        record = self.get(validation_id)
        if name not in record.get("screenshots", []):
            raise NotFoundError(
                f"chart validation {validation_id} has no screenshot {name!r}; it has "
                f"{', '.join(record.get('screenshots', [])) or 'none'}"
            )
        return self.root / validation_id / SCREENSHOTS / f"{name}.png"

    def _validate(self, record: dict[str, Any]) -> None:
        folder = self.root / record["id"]
        record = {**record, "state": "running", "started_at": _now()}
        try:
            self._write(record)
            validation = validate_report(
                self.store, record["run_id"], folder / REPORT, self.chromium
            )
        except Exception as exc:  # the record says why; the log keeps the traceback
            if not isinstance(exc, FactoryError):
                log.exception("chart validation %s failed", record["id"])
            error = str(exc) if isinstance(exc, FactoryError) else f"{type(exc).__name__}: {exc}"
            self._finish({**record, "state": "failed", "error": error})
            return
        result = validation.to_json()
        self._finish(
            {
                **record,
                "state": "done",
                "passed": result["passed"],
                "verdict": result["verdict"],
                "checks": result["checks"],
                "anomalies": result["anomalies"],
                "screenshots": [path.stem for path in validation.screenshots],
            }
        )

    def _finish(self, record: dict[str, Any]) -> None:
        with self._lock:
            try:
                self._write({**record, "finished_at": _now()})
            finally:  # a record that cannot be written must not keep every later one out
                self._active = None

    def _interrupt_unfinished(self) -> None:
        for folder in self._folders():
            record = self._read(folder.name)
            if record["state"] in UNFINISHED:
                self._write({**record, "state": "failed", "error": INTERRUPTED})

    def _folders(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return [
            folder
            for folder in self.root.iterdir()
            if re.fullmatch(ID_PATTERN, folder.name) and (folder / RECORD).is_file()
        ]

    def _record(self, validation_id: str) -> Path:
        return self.root / validation_id / RECORD

    def _read(self, validation_id: str) -> dict[str, Any]:
        return json.loads(self._record(validation_id).read_text(encoding="utf-8"))

    def _write(self, record: dict[str, Any]) -> None:
        target = self._record(record["id"])
        partial = target.with_name(f".{RECORD}.partial")
        partial.write_text(dumps(record, indent=2), encoding="utf-8")
        partial.replace(target)


def _now() -> str:
    return datetime.now(UTC).isoformat()
