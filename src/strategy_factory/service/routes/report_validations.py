"""Chart validations over HTTP: ``factory report RUN --validate`` started on the server,
followed to its checks, anomalies and screenshots, and its validated report served.

The report is the run report with Plotly and its charts' data inline, so it is served
under a policy of its own: a sandbox (an origin of its own, which can read neither the
dashboard's token nor its API) whose inline scripts may run and reach nothing.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import FileResponse

from strategy_factory.service.deps import Reader, ReportValidationsDep, Writer
from strategy_factory.service.report_validations import ID_PATTERN, NoBrowserError
from strategy_factory.service.schemas.report_validations import ReportValidationOut
from strategy_factory.understanding.chart_report import ChartValidationRequest

router = APIRouter(tags=["understanding"])

MOST_LISTED = 200
REPORT_POLICY = "; ".join(
    [
        "sandbox allow-scripts",
        "default-src 'none'",
        "script-src 'unsafe-inline'",
        "style-src 'unsafe-inline'",
        "img-src data: blob:",
        "font-src data:",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
ValidationId = Annotated[str, Path(pattern=ID_PATTERN, description="A chart validation's id")]


@router.post(
    "/api/report-validations",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=ReportValidationOut,
    dependencies=[Writer],
)
def start_validation(
    body: ChartValidationRequest, validations: ReportValidationsDep, request: Request
) -> dict[str, Any]:
    """Validate a run's report in headless Chromium on the server, in the background: the
    drawn trade markers and equity against the stored trades, equity anomalies and
    screenshots. 404: no such run; 409: a validation is running; 503: no Chromium here."""
    try:
        record = validations.start(body)
    except NoBrowserError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return _out(record, request)


@router.get(
    "/api/report-validations", response_model=list[ReportValidationOut], dependencies=[Reader]
)
def list_validations(
    validations: ReportValidationsDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MOST_LISTED, description="How many, newest first")] = 50,
) -> list[dict[str, Any]]:
    """The chart validations, newest first, each with its state and, once done, its
    checks, anomalies, verdict and links."""
    return [_out(record, request) for record in validations.recent(limit)]


@router.get(
    "/api/report-validations/{validation_id}",
    response_model=ReportValidationOut,
    dependencies=[Reader],
)
def get_validation(
    validation_id: ValidationId, validations: ReportValidationsDep, request: Request
) -> dict[str, Any]:
    """One chart validation: queued, running, done (checks, anomalies, verdict, links to
    the report and screenshots) or failed (the error)."""
    return _out(validations.get(validation_id), request)


@router.get(
    "/api/report-validations/{validation_id}/report",
    include_in_schema=False,
    dependencies=[Reader],
)
def validated_report(
    validation_id: ValidationId, validations: ReportValidationsDep
) -> FileResponse:
    """The validated report (HTML) of a finished validation, under its own sandbox policy."""
    return FileResponse(
        validations.report(validation_id),
        media_type="text/html",
        headers={"Content-Security-Policy": REPORT_POLICY},
    )


@router.get(
    "/api/report-validations/{validation_id}/screenshots/{name}",
    include_in_schema=False,
    dependencies=[Reader],
)
def screenshot(
    validation_id: ValidationId,
    name: Annotated[str, Path(pattern=r"^[a-z-]{1,40}$", description="A chart's id")],
    validations: ReportValidationsDep,
) -> FileResponse:
    """A chart as Chromium drew it (PNG), by the name the validation lists."""
    return FileResponse(validations.screenshot(validation_id, name), media_type="image/png")


def _out(record: dict[str, Any], request: Request) -> dict[str, Any]:
    done = record["state"] == "done"
    links = request.url_for("get_validation", validation_id=record["id"]).path
    return {
        "passed": None,
        "verdict": None,
        "checks": [],
        "anomalies": [],
        **record,
        "report_url": f"{links}/report" if done else None,
        "screenshots": [
            {"name": name, "url": f"{links}/screenshots/{name}"}
            for name in record.get("screenshots", [])
        ],
    }
