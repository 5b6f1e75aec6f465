"""``factory report RUN --validate``: the run report, checked in a browser, with the
checks, the equity anomalies and the charts' screenshots attached to it.

The report is rendered, opened in headless Chromium and read back (:mod:`.chart_check`);
the page written at the end is the same report plus a "Visual validation" section that
embeds the screenshots (the file stays self-contained) and lists every check and anomaly.
The screenshots are also written as PNG files next to the report.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jinja2 import Environment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from strategy_factory.errors import FactoryError, describe_problems
from strategy_factory.evolution.report_data import gather_report
from strategy_factory.evolution.report_page import PlotlyBundle, render_report, write_page
from strategy_factory.json_values import plain
from strategy_factory.store import Store
from strategy_factory.understanding.chart_check import (
    ChartCheck,
    anomalies,
    compare,
    render_and_read,
)
from strategy_factory.understanding.equity_anomalies import Anomaly, AnomalyBounds

if TYPE_CHECKING:
    from playwright.sync_api import Page

_SECTION = Environment(autoescape=True).from_string(
    """
<section id="visual-validation">
  <h2>Visual validation</h2>
  <p class="verdict {{ 'promoted' if passed else 'failed' }}">{{ verdict }}</p>
  <table id="chart-checks">
    <tr><th>Chart</th><th>What</th><th>Result</th><th>Expected</th><th>Drawn</th><th>Detail</th></tr>
    {% for check in checks %}
    <tr data-passed="{{ 'true' if check.passed else 'false' }}"><td>{{ check.chart }}</td>
      <td>{{ check.what }}</td><td>{{ 'pass' if check.passed else 'FAIL' }}</td>
      <td>{{ check.expected }}</td><td>{{ check.drawn }}</td><td>{{ check.detail }}</td></tr>
    {% endfor %}
  </table>
  <h3>Equity anomalies</h3>
  {% if anomalies %}
  <table id="equity-anomalies">
    <tr><th>Period</th><th>Kind</th><th>From</th><th>To</th><th>What</th></tr>
    {% for a in anomalies %}
    <tr><td>{{ a.period }}</td><td>{{ a.kind }}</td><td>{{ a.start }}</td><td>{{ a.end }}</td>
      <td>{{ a.detail }}</td></tr>
    {% endfor %}
  </table>
  {% else %}
  <p id="equity-anomalies">None: no flat stretch, jump or gap beyond the bounds
    ({{ bounds.max_flat_bars }} flat bars, {{ bounds.jump_sigmas }} robust sd,
    {{ bounds.gap_factor }}× the median bar spacing).</p>
  {% endif %}
  <h3>Screenshots from headless Chromium</h3>
  {% for name, data in screenshots.items() %}
  <figure><img alt="{{ name }} as Chromium drew it" src="data:image/png;base64,{{ data }}"
    style="max-width:100%"><figcaption>{{ name }}</figcaption></figure>
  {% endfor %}
</section>
"""
)


class ChartValidationRequest(BaseModel):
    """Which run's report to validate: the body of ``POST /api/report-validations`` and
    the run id ``factory report RUN --validate`` is given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(min_length=1, max_length=64, description="The run to validate")

    @classmethod
    def parse(cls, values: dict[str, Any]) -> ChartValidationRequest:
        """Validate ``values`` (CLI or API), with one clear error."""
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = describe_problems(exc.errors())
            raise FactoryError(f"invalid chart validation: {problems}") from exc


@dataclass(frozen=True)
class ChartValidation:
    """What the browser drew against what the store and re-trade say."""

    run_id: str
    report: Path
    screenshots: list[Path]
    checks: list[ChartCheck]
    anomalies: list[Anomaly] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every check passed (anomalies are flagged, not failed)."""
        return all(check.passed for check in self.checks)

    def verdict(self) -> str:
        """The outcome in one sentence."""
        failed = [check for check in self.checks if not check.passed]
        flagged = f"; {len(self.anomalies)} equity anomalies flagged" if self.anomalies else ""
        if failed:
            return (
                f"{len(failed)} of {len(self.checks)} chart checks FAILED: the charts do not "
                f"draw the stored trades ({failed[0].what}: {failed[0].detail}){flagged}"
            )
        return f"all {len(self.checks)} chart checks passed{flagged}"

    def to_json(self) -> dict[str, Any]:
        """The validation as JSON values."""
        return plain(
            {
                "run_id": self.run_id,
                "report": str(self.report),
                "screenshots": [str(p) for p in self.screenshots],
                "passed": self.passed,
                "verdict": self.verdict(),
                "checks": [asdict(c) for c in self.checks],
                "anomalies": [asdict(a) for a in self.anomalies],
            }
        )


def validate_report(
    store: Store,
    run_id: str,
    path: Path,
    chromium: Path,
    bounds: AnomalyBounds | None = None,
    before_reading: Callable[[Page], object] | None = None,
) -> ChartValidation:
    """Write run ``run_id``'s report to ``path`` with its visual validation attached.

    ``before_reading(page)`` runs in the browser before the charts are read (for tests).
    """
    bounds = bounds or AnomalyBounds()
    report = gather_report(store, run_id)
    page = render_report(report, PlotlyBundle.FULL)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        drawn_page = Path(scratch) / "report.html"
        drawn_page.write_text(page, encoding="utf-8")
        rendered = render_and_read(drawn_page, chromium, before_reading)
    checks = compare(report, rendered.traces)
    flagged = anomalies(report, bounds)
    shots = _write_screenshots(path, rendered.screenshots)
    validation = ChartValidation(run_id, path, shots, checks, flagged)
    section = _SECTION.render(
        passed=validation.passed,
        verdict=validation.verdict(),
        checks=checks,
        anomalies=flagged,
        bounds=bounds,
        screenshots={
            name: base64.b64encode(png).decode("ascii")
            for name, png in rendered.screenshots.items()
        },
    )
    write_page(path, PlotlyBundle.FULL, lambda _: page.replace("</main>", f"{section}</main>", 1))
    return validation


def _write_screenshots(path: Path, screenshots: dict[str, bytes]) -> list[Path]:
    folder = path.parent / f"{path.stem}-charts"
    folder.mkdir(exist_ok=True)
    written = []
    for name, png in screenshots.items():
        target = folder / f"{name}.png"
        target.write_bytes(png)
        written.append(target)
    return written
