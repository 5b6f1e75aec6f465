"""The workflow report: one self-contained HTML page of what a workflow did, from its files.

The page (see :mod:`.report_page`) is built from the workspace alone (see
:mod:`.report_data`) and follows the run report's conventions: it opens offline in any
browser with Plotly's JavaScript and the CSS inlined and every chart's data embedded,
or, with ``plotly="cdn"``, loads Plotly from its CDN (a much smaller file whose charts
need the network). It shows the phases on a timeline with their summaries, warnings,
errors and the edits made between them; each regime analysis's best parameters per
regime; each ensemble's weights per regime; and each validation's holdout equity with
regime bands and switches, its verdict, metrics, trial counts and PBO.

Example::

    workspace = Workspace.open(Path("results"), "wf-20240105-1a2b3c4d")
    path, report = write_workflow_report(workspace, "workflow.html")
"""

from __future__ import annotations

from pathlib import Path

from strategy_factory.evolution.report_page import PlotlyBundle, write_page
from strategy_factory.workflow.report_data import WorkflowReport, gather_workflow_report
from strategy_factory.workflow.report_page import render_workflow_report
from strategy_factory.workflow.workspace import Workspace


def write_workflow_report(
    workspace: Workspace, path: str | Path, plotly: PlotlyBundle | str = PlotlyBundle.FULL
) -> tuple[Path, WorkflowReport]:
    """Write the HTML report of a workflow to ``path``; returns the path and what it shows.

    ``plotly``: ``full`` inlines Plotly's JavaScript (self-contained, the default), ``cdn``
    loads it from Plotly's CDN (smaller; the charts need the network). The file is
    written whole or not at all; a finished phase whose file cannot be read is named on
    the page and in the returned report's ``problems``.
    """
    report = gather_workflow_report(workspace)
    written = write_page(path, plotly, lambda bundle: render_workflow_report(report, bundle))
    return written, report
