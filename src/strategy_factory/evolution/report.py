"""The run report: one self-contained HTML file showing what an evolution run did.

The page (see :mod:`.report_page`) opens offline in any browser: Plotly's JavaScript and
the CSS are inlined, and every chart's data is embedded. With ``plotly="cdn"`` Plotly is
loaded from its CDN instead (a much smaller file whose charts need the network). It shows
the run's config and verdict, the best strategy's equity, drawdown and trades on the
selection and holdout periods (re-traded from the stored model), the lineage, the
features kept per generation, the best model's threshold × z-score SQN map and the
holdout criteria verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from strategy_factory.evolution.report_page import PlotlyBundle
    from strategy_factory.store import Store


def write_report(
    store: Store, run_id: str, path: str | Path, plotly: PlotlyBundle | str = "full"
) -> Path:
    """Write the HTML report of run ``run_id`` to ``path`` and return the path.

    ``plotly``: ``full`` inlines Plotly's JavaScript (self-contained, the default), ``cdn``
    loads it from Plotly's CDN (smaller; the charts need the network). The file is written
    whole or not at all. Raises :class:`~strategy_factory.errors.NotFoundError` for an
    unknown run id.

    Example: ``write_report(create_store(), "3f2a9c01b7de", "report.html")``.
    """
    # Plotly and Jinja load here, not with the evolution package: a run does not need them.
    from strategy_factory.evolution.report_data import gather_report
    from strategy_factory.evolution.report_page import render_report, write_page

    return write_page(
        path, plotly, lambda bundle: render_report(gather_report(store, run_id), bundle)
    )
