"""The hypotheses and indicators page in a real headless Chromium against a real server
process: reached from the insights hub, a hypothesis tested from the form shows its
principle and joins the table confirmed, a refused one lists the field to fix, and an
indicator search from the form lists its formulas; in the dark theme after a reload.
Hypotheses queued from the form wait in the queue until a learning cycle started from the
hub tests one and refuses the other, each state shown; refused queues name what to fix and
queue nothing; in both themes. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import json

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.service.server import Server
from tests.service.test_browser import browser, page, server, shot

pytestmark = pytest.mark.browser
__all__ = ["browser", "page", "server"]

PLANTED = {
    "name": "planted-up",
    "symbol": "SYN",
    "feature": "exo_planted",
    "k": 1.5,
    "side": "above",
    "expect": "up",
}


def test_hypotheses_and_indicators_in_a_browser(page: Page) -> None:
    page.goto("/ui/insights")
    page.get_by_role("link", name="hypotheses and indicators").click()
    expect(page.get_by_role("heading", name="Hypotheses and indicators", level=1)).to_be_visible()
    expect(page.locator("#hypotheses-table tbody")).to_contain_text("No hypothesis tested yet")
    form = page.get_by_label("Hypotheses (JSON)")
    assert json.loads(form.input_value())["hypotheses"][0]["symbol"] == "SP500"

    form.fill(json.dumps({"hypotheses": [{**PLANTED, "horizon": 0}]}))
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#hypothesis-errors")).to_contain_text("hypotheses.0.horizon")

    form.fill(json.dumps({"hypotheses": [PLANTED]}))
    page.get_by_role("button", name="Test").click()
    expect(page.locator("#hypothesis-result")).to_contain_text("confirmed at FDR 5%")
    expect(page.locator("#hypothesis-errors")).to_be_hidden()
    row = page.locator("#hypotheses-table tbody tr").filter(has_text="planted-up")
    expect(row.locator("[data-confirmed='true']")).to_have_text("confirmed")
    expect(page.locator("#family")).to_contain_text("1 hypothesis in the family")

    page.get_by_label("Symbol").fill("SYN")
    page.get_by_label("Generations").fill("1")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("#discover-result")).to_contain_text("formulas tried")
    expect(page.locator("#indicators-table tbody tr").first).to_contain_text("formula:")
    shot(page, "hypotheses-1-light")

    page.get_by_role("button", name="Dark theme").click()
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(row.locator("[data-confirmed='true']")).to_be_visible()
    expect(page.locator("#indicators-table tbody tr").first).to_contain_text("formula:")
    shot(page, "hypotheses-2-dark")


def queue_and_family(server: Server) -> tuple[list, list]:
    """What waits in the queue and every tested hypothesis, as the API answers."""
    with httpx.Client(base_url=server.url) as client:
        queue = client.get("/api/hypotheses/queue").json()
        return queue, client.get("/api/hypotheses").json()["hypotheses"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_hypotheses_queued_in_a_browser_wait_for_the_learning_cycle(
    page: Page, server: Server, theme: str
) -> None:
    page.goto("/ui/insights")
    if theme == "dark":
        page.get_by_role("button", name="Dark theme").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("link", name="hypotheses and indicators").click()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    table = page.locator("#queue-table tbody")
    expect(table).to_contain_text("Nothing queued")
    form = page.get_by_label("Hypotheses (JSON)")
    by = page.get_by_label("Queued by")
    queue = page.get_by_role("button", name="Queue for the next learning cycle")
    errors = page.locator("#hypothesis-errors")
    no_bars = {**PLANTED, "name": "no-bars", "symbol": "NOPE"}

    form.fill(json.dumps({"hypotheses": [PLANTED, no_bars]}))
    queue.click()  # nobody named
    expect(errors).to_contain_text("The hypotheses were not queued")
    expect(errors).to_contain_text("by: String should have at least 1 character")
    by.fill("alice")
    form.fill(json.dumps({"hypotheses": [{**PLANTED, "horizon": 0}]}))
    queue.click()
    expect(errors).to_contain_text("hypotheses.0.horizon")
    form.fill(json.dumps({"hypotheses": [PLANTED, PLANTED]}))
    queue.click()
    expect(errors).to_contain_text("two hypotheses share a name; give each its own")
    shot(page, f"hypotheses-queue-1-refused-{theme}")
    assert queue_and_family(server) == ([], [])  # nothing queued, nothing tested

    form.fill(json.dumps({"hypotheses": [PLANTED, no_bars]}))
    queue.click()
    expect(page.locator("#hypothesis-result")).to_have_text(
        "Queued for the next learning cycle: planted-up, no-bars."
    )
    expect(errors).to_be_hidden()
    waiting = table.locator("tr").filter(has=page.locator("[data-queue-state='waiting']"))
    expect(waiting).to_have_count(2)
    expect(waiting.first).to_contain_text("planted-up")
    expect(waiting.first).to_contain_text("alice")
    expect(waiting.first).to_contain_text("waiting for the next learning cycle")
    queued, family = queue_and_family(server)
    assert [(q["name"], q["queued_by"]) for q in queued] == [
        ("planted-up", "alice"),
        ("no-bars", "alice"),
    ]
    assert family == []  # not tested before the cycle
    shot(page, f"hypotheses-queue-2-waiting-{theme}")

    page.get_by_role("link", name="learning insights").click()
    # The hub's script has run (and wired its buttons) once its first answer is drawn.
    expect(page.locator("#meta-region")).to_have_attribute("aria-busy", "false")
    page.get_by_role("button", name="Run learning cycle").click()
    expect(page.locator("#cycle-status")).to_contain_text("(api): done")
    page.get_by_role("link", name="hypotheses and indicators").click()
    queued, [tested] = queue_and_family(server)
    assert queued == [] and tested["name"] == "planted-up"
    row = table.locator("tr").filter(has_text="planted-up")
    expect(row.locator("[data-queue-state='tested']")).to_contain_text(f"as #{tested['id']}")
    expect(row).to_contain_text("alice")
    refused = table.locator("tr").filter(has_text="no-bars")
    expect(refused.locator("[data-queue-state='refused']")).to_contain_text("NOPE")
    expect(table.locator("[data-queue-state='waiting']")).to_have_count(0)
    confirmed = page.locator("#hypotheses-table tbody tr").filter(has_text="planted-up")
    expect(confirmed.locator("[data-confirmed]")).to_have_attribute(
        "data-confirmed", str(tested["confirmed_now"]).lower()
    )
    shot(page, f"hypotheses-queue-3-cycle-{theme}")
