"""The dashboard: HTML pages that fill themselves from the JSON API, and Plotly's script.

Pages hold no data, only the layout; a little vanilla JavaScript (``static/``) fetches
the API and polls it, so every page shows exactly what the API says. Plotly is served
from the installed ``plotly`` package: the dashboard needs no network.
"""

from __future__ import annotations

import json
from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from strategy_factory.learning.settings import LearningSettings
from strategy_factory.models import KNOWN
from strategy_factory.service.deps import SettingsDep
from strategy_factory.service.settings_form import settings_form

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
router = APIRouter(include_in_schema=False)

NAVIGATION = (
    ("status", "/ui", "Status"),
    ("evolve", "/ui/evolve", "Start evolution"),
    ("runs", "/ui/runs", "Runs"),
    ("promoted", "/ui/promoted", "Hall of fame"),
    ("workflows", "/ui/workflows", "Workflows"),
    ("insights", "/ui/insights", "Insights"),
    ("jobs", "/ui/jobs", "Job queue"),
)
# The hub's tabs: (key, label). The key is the tab's name in the URL (``#allocator``).
INSIGHT_TABS = (
    ("meta-model", "Meta-model"),
    ("allocator", "Allocator"),
    ("overfitting", "Overfitting"),
    ("knowledge", "Knowledge"),
)
# What the start-a-workflow form shows first: a small workflow on bundled data.
EXAMPLE_WORKFLOW = {
    "name": "sp500-adaptive",
    "data": {"symbol": "SP500", "selection_fraction": 0.35, "holdout_fraction": 0.3},
    "costs": {"fee_bps": 1, "slippage_bps": 1},
    "classifiers": {"regime_vol": {"type": "gmm", "params": {"n_regimes": 2}}},
    "phases": [
        {
            "type": "parameter_discovery",
            "families": [
                {
                    "name": "momentum",
                    "kind": "rule",
                    "rule": "momentum",
                    "parameters": {"lookback": [5, 20, 60], "threshold": [0.0, 0.01]},
                },
                {
                    "name": "mean_reversion",
                    "kind": "rule",
                    "rule": "mean_reversion",
                    "parameters": {"lookback": [5, 20], "threshold": [0.0, 1.0]},
                },
            ],
        },
        {"type": "regime_analysis"},
        {"type": "ensemble_optimization", "step": 0.1},
        {"type": "validation", "criteria": "evidence"},
    ],
}


# What the audit-a-configuration form shows first: a small run on bundled data.
EXAMPLE_AUDIT = {"symbol": "SP500", "reference_symbols": ["NASDAQ"], "max_generations": 3}


# What the test-hypotheses form shows first: a reversal after 2σ moves of the S&P 500.
EXAMPLE_HYPOTHESES = {
    "hypotheses": [
        {
            "name": "sp500-2sigma-reversal",
            "symbol": "SP500",
            "feature": "ret_1",
            "k": 2,
            "side": "beyond",
            "horizon": 15,
            "expect": "against",
        }
    ]
}


def _page(
    request: Request, settings: SettingsDep, template: str, section: str, **context: object
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "navigation": NAVIGATION,
            "section": section,
            "token_required": bool(settings.api_token),
            **context,
        },
    )


@router.get("/")
def home() -> RedirectResponse:
    """The dashboard lives under /ui."""
    return RedirectResponse("/ui")


@router.get("/ui", response_class=HTMLResponse)
def status_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """System status: runs, jobs, promotions, live workers."""
    return _page(request, settings, "status.html", "status")


@router.get("/ui/evolve", response_class=HTMLResponse)
def evolve_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The start-evolution form."""
    return _page(request, settings, "evolve.html", "evolve", algorithms=list(KNOWN))


@router.get("/ui/runs", response_class=HTMLResponse)
def runs_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Runs with the progress of both phases."""
    return _page(request, settings, "runs.html", "runs")


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, settings: SettingsDep, run_id: str) -> HTMLResponse:
    """One run: progress, per-generation breakdown, top results, charts."""
    return _page(request, settings, "run.html", "runs", run_id=run_id)


@router.get("/ui/promoted", response_class=HTMLResponse)
def promoted_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The hall of fame."""
    return _page(request, settings, "promoted.html", "promoted")


@router.get("/ui/promoted/{promoted_id}", response_class=HTMLResponse)
def promotion_page(request: Request, settings: SettingsDep, promoted_id: str) -> HTMLResponse:
    """One promoted strategy with its evidence and lineage graph."""
    return _page(request, settings, "promotion.html", "promoted", promoted_id=promoted_id)


@router.get("/ui/workflows", response_class=HTMLResponse)
def workflows_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Start a workflow; workflows with the phase each is in."""
    example = json.dumps(EXAMPLE_WORKFLOW, indent=2)
    return _page(request, settings, "workflows.html", "workflows", example=example)


@router.get("/ui/workflows/{workflow_id}", response_class=HTMLResponse)
def workflow_page(request: Request, settings: SettingsDep, workflow_id: str) -> HTMLResponse:
    """One workflow: its phases' live progress, the validation result, edits, resume."""
    return _page(request, settings, "workflow.html", "workflows", workflow_id=workflow_id)


@router.get("/ui/insights", response_class=HTMLResponse)
def insights_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Learning insights: meta-model, allocator, overfitting alerts, knowledge, in tabs."""
    return _page(request, settings, "insights.html", "insights", tabs=INSIGHT_TABS)


@router.get("/ui/understanding", response_class=HTMLResponse)
def understanding_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Diagnose a promotion or run; audit a run or an evolution configuration."""
    example = json.dumps(EXAMPLE_AUDIT, indent=2)
    return _page(request, settings, "understanding.html", "insights", example_config=example)


@router.get("/ui/insights/champions", response_class=HTMLResponse)
def champions_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Champion/challenger: each slot's champion, the challenges and the audit log."""
    return _page(request, settings, "champions.html", "insights")


@router.get("/ui/insights/hypotheses", response_class=HTMLResponse)
def hypotheses_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Hypothesis tests and discovered indicators, with forms to run both."""
    example = json.dumps(EXAMPLE_HYPOTHESES, indent=2)
    return _page(request, settings, "hypotheses.html", "insights", example=example)


@router.get("/ui/insights/transfers", response_class=HTMLResponse)
def transfers_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Try a promoted genome on other symbols; the transfer runs and their outcomes."""
    return _page(request, settings, "transfers.html", "insights")


@router.get("/ui/insights/chart-validation", response_class=HTMLResponse)
def chart_validation_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Validate a run's report charts in the server's Chromium; the checks and screenshots."""
    return _page(request, settings, "chart_validation.html", "insights")


@router.get("/ui/settings/learning", response_class=HTMLResponse)
def learning_settings_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The learning settings as a form, one fieldset per section."""
    sections = settings_form(LearningSettings)
    return _page(request, settings, "learning_settings.html", "insights", sections=sections)


@router.get("/ui/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, settings: SettingsDep) -> HTMLResponse:
    """The job queue and the live workers."""
    return _page(request, settings, "jobs.html", "jobs")


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The dashboard's icon, for browsers that ask for it before reading a page's link."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/vendor/plotly.min.js")
def plotly_js() -> FileResponse:
    """Plotly's browser bundle, from the installed package."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript")
