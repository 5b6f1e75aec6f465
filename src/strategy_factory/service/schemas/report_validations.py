"""Bodies of ``/api/report-validations``: a chart validation the server runs, its checks,
the equity anomalies it flagged and the links to its report and screenshots.

``POST /api/report-validations`` takes a
:class:`~strategy_factory.understanding.chart_report.ChartValidationRequest`, the model
``factory report RUN --validate`` checks its run id with.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from strategy_factory.understanding.chart_check import ChartCheck


class AnomalyOut(BaseModel):
    """One flagged stretch of an equity curve (flat, jump or gap)."""

    period: str
    kind: str
    start: str
    end: str
    size: float | None
    detail: str


class ScreenshotOut(BaseModel):
    """A chart as Chromium drew it: its name and where the API serves the PNG."""

    name: str
    url: str


class ReportValidationOut(BaseModel):
    """A chart validation: its state and, once done, what the browser drew against the
    store (``passed``: every check passed; anomalies are flagged, not failed)."""

    id: str
    run_id: str
    state: Literal["queued", "running", "done", "failed"]
    created_at: str
    started_at: str | None
    finished_at: str | None
    error: str | None = Field(description="Why a failed validation could not run")
    passed: bool | None
    verdict: str | None
    checks: list[ChartCheck]  # the dataclass the checks are made as
    anomalies: list[AnomalyOut]
    report_url: str | None = Field(description="The validated report (HTML), once done")
    screenshots: list[ScreenshotOut]
