"""The transfers page in a real headless Chromium against the real service, on a store with
a real promotion, in both themes: reached from the insights hub and from the promotion's
page, a transfer started from the form runs on the server and its row follows it to the
end, stating what the stored run did (promoted there or not); refused requests say which
field to fix and start nothing.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.learning.conftest import STORED, Promoted, promoted, promoted_home
from tests.service.conftest import inline
from tests.service.test_browser import dashboard_page, launched, shot
from tests.service.test_insights_browser import Server
from tests.understanding.test_transfer import OTHER

pytestmark = pytest.mark.browser
__all__ = ["promoted", "promoted_home"]
# A one-generation run on 7,000 hourly bars, in the server's thread; this is only the ceiling.
RUN_CEILING_MS = 300_000


@pytest.fixture
def server(promoted: Promoted) -> Iterator[Server]:
    """The service over the promoted store, running each run's units in its own thread."""
    promoted.catalog.save("SYN2", OTHER.iloc[:STORED])
    started = Server(os.environ["FACTORY_DB"], executor_factory=inline)
    yield started
    started.stop()


@pytest.fixture
def page(chromium: Path, server: Server) -> Iterator[Page]:
    with launched(chromium) as browser, dashboard_page(browser, server) as opened:
        yield opened


def transfer_runs(server: Server) -> list[dict]:
    """The transfer runs and every run, as the API lists them."""
    with httpx.Client(base_url=server.url) as client:
        return [client.get("/api/transfer").json(), client.get("/runs").json()]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_transfer_started_in_the_browser_runs_and_states_its_outcome(
    page: Page, server: Server, promoted: Promoted, theme: str
) -> None:
    promotion = promoted.promotion
    page.goto("/ui/insights")
    if theme == "dark":
        page.get_by_role("button", name="Dark theme").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("link", name="transfers").click()
    expect(page).to_have_url(f"{server.url}/ui/insights/transfers")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.locator("#transfers-table tbody")).to_contain_text("No transfer yet")

    # The promotion's own page links here with the promotion filled in.
    page.goto(f"/ui/promoted/{promotion.id}")
    page.get_by_role("link", name="transfer it").click()
    form = page.get_by_label("Promotion id")
    expect(form).to_have_value(promotion.id)
    expect(page.get_by_label("SYN2")).to_be_attached()
    before = transfer_runs(server)

    errors = page.locator("#transfer-errors")
    start = page.get_by_role("button", name="Start transfer")
    start.click()  # no symbol chosen
    expect(errors).to_contain_text("The transfer was not started")
    expect(errors).to_contain_text("symbols: List should have at least 1 item")
    page.get_by_label("SYN2").check()
    page.get_by_label("Generations per run").fill("0")
    start.click()
    expect(errors).to_contain_text("generations: Input should be greater than or equal to 1")
    page.get_by_label("Generations per run").fill("1")
    form.fill("nope")
    start.click()
    expect(errors).to_contain_text("no promoted model 'nope'")
    shot(page, f"transfers-1-refused-{theme}")
    assert transfer_runs(server) == before  # nothing recorded, nothing started

    form.fill(promotion.id)
    page.get_by_label("SYN", exact=True).check()
    start.click()
    expect(errors).to_be_hidden()
    result = page.locator("#transfer-result")
    expect(result).to_contain_text(f"SYN: not started: promotion {promotion.id} was made on SYN")
    expect(result).to_contain_text("SYN2: run ")
    [launched] = httpx.get(f"{server.url}/api/transfer").json()
    run_id = launched["id"]
    expect(result.get_by_role("link", name=run_id)).to_be_visible()

    row = page.locator("#transfers-table tbody tr").filter(has_text=run_id)
    expect(row).to_contain_text("SYN → SYN2")
    expect(row.get_by_role("link", name=promotion.id)).to_be_visible()
    expect(row.locator("[data-run-status]")).to_have_attribute(
        "data-run-status", "completed", timeout=RUN_CEILING_MS
    )
    with httpx.Client(base_url=server.url) as client:
        run = client.get(f"/runs/{run_id}").json()["run"]
        generations = client.get(f"/runs/{run_id}/generations").json()
    for phase in ("Training", "Simulation"):
        bar = row.get_by_label(f"{phase} progress of transfer run {run_id}")
        expect(bar).to_have_js_property("value", bar.evaluate("b => b.max"))
    genome = f"the genome promoted on SYN ({promotion.id})"
    if run["promoted"]:
        expect(row.locator("[data-worked='true']")).to_have_text("worked")
        expect(row).to_contain_text(f"{genome} worked on SYN2: promoted ({run['promotion_id']};")
    else:
        expect(row.locator("[data-worked='false']")).to_have_text("failed")
        expect(row).to_contain_text(
            f"{genome} failed on SYN2: not promoted after {len(generations)} "
            f"generation(s), {run['configurations_tried']} configurations tried"
        )
    shot(page, f"transfers-2-done-{theme}")
