"""The champions page in a real headless Chromium against the real service, in both
themes: reached from the insights hub, it lists the slot, the challenges with their
paired test and the audit log, and draws each promotion's forward equity exactly as the
stored forward bars compound (read from the chart's data in the page); a major change is
approved from the page (refused without a name), and the API answers unknown ids and
second approvals with clear 4xx errors. A champion is challenged, replaced and restored
from the page's forms; refused requests say which field to fix and change nothing.

Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, expect

from strategy_factory.store import create_store
from strategy_factory.understanding.champion import ChallengeRequest, challenge
from strategy_factory.understanding.chart_check import points_check
from tests.service.test_browser import dashboard_page, shot
from tests.service.test_insights_browser import (  # noqa: F401 (module fixtures)
    Server,
    insights_browser,
    learning_server,
)
from tests.understanding.test_champion import BETTER, NOISE, OWN, promote

pytestmark = pytest.mark.browser
READ = """() => Object.fromEntries(document.getElementById("forward-chart")._fullData.map(t => [
  t.name.split(" ")[1], { x: Array.from(t.x, String), y: Array.from(t.y, Number) },
]))"""


def read_forward_chart(page: Page, series: int) -> dict[str, dict[str, list]]:
    """The forward chart's lines by promotion id, as Plotly drew them."""
    page.wait_for_function(
        "n => (document.getElementById('forward-chart')._fullData || []).length === n",
        arg=series,
    )
    return page.evaluate(READ)


@pytest.fixture
def page(insights_browser: Browser, learning_server: Server) -> Iterator[Page]:  # noqa: F811
    with dashboard_page(insights_browser, learning_server) as opened:
        yield opened


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_champions_page_approves_a_major_change(
    page: Page,
    learning_server: Server,  # noqa: F811
    theme: str,
) -> None:
    slot = f"SP500-{theme}"
    with create_store(learning_server.db) as store:
        champion = promote(store, NOISE)
        challenge(store, ChallengeRequest(slot=slot, challenger=champion, by="desk"))
        worse = promote(store, NOISE + OWN - 0.002)
        challenge(store, ChallengeRequest(slot=slot, challenger=worse, by="desk"))
        family = promote(store, BETTER, features=("rsi_14", "obv_slope_10"))
        waiting = challenge(
            store, ChallengeRequest(slot=slot, challenger=family, by="desk")
        ).challenge
    page.goto("/ui/insights")
    if theme == "dark":
        page.get_by_role("button", name="Dark theme").click()
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("link", name="champions and challengers").click()
    expect(page).to_have_url(f"{learning_server.url}/ui/insights/champions")
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.locator(f"#slots-table tr[data-slot='{slot}']")).to_contain_text(champion)
    rows = page.locator("#challenges-table tbody tr")
    expect(rows.filter(has_text=worse)).to_contain_text("rejected")
    pending = page.locator(f"tr[data-challenge='{waiting.id}']")
    expect(pending).to_contain_text("awaiting approval")
    expect(pending).to_contain_text("500")  # bars compared
    drawn = read_forward_chart(page, 3)
    with create_store(learning_server.db) as store:
        for promotion_id, trace in drawn.items():
            bars = store.forward.results(promotion_id)
            stored = np.cumprod([1.0 + bar.bar_return for bar in bars])
            times = pd.DatetimeIndex([bar.timestamp for bar in bars])
            check = points_check(promotion_id, times, stored, trace, "the stored")
            assert check.passed and check.drawn == 500, check.detail
            # The same check catches the line moved by one bar.
            moved = {"x": [*trace["x"][1:], trace["x"][-1]], "y": trace["y"]}
            assert not points_check(promotion_id, times, stored, moved, "the stored").passed
    assert set(drawn) == {champion, worse, family}
    shot(page, f"champions-1-awaiting-{theme}")

    pending.get_by_role("button", name="Approve").click()
    expect(page.locator("#champions-error")).to_contain_text("Say who approves")
    page.get_by_label("Approve as").fill("alice")
    pending.get_by_role("button", name="Approve").click()
    expect(page.locator("#approve-status")).to_contain_text(f"{family} is champion of {slot}")
    expect(page.locator(f"#slots-table tr[data-slot='{slot}']")).to_contain_text(family)
    expect(pending).to_contain_text("accepted by alice")
    approved = page.locator("#log-table tr[data-action='approved']").filter(has_text=slot)
    expect(approved).to_contain_text("alice")
    shot(page, f"champions-2-approved-{theme}")

    with httpx.Client(base_url=learning_server.url) as client:
        again = client.post(f"/api/champions/challenges/{waiting.id}/approve", json={"by": "bob"})
        assert again.status_code == 400 and "already accepted by alice" in again.text
        unknown = client.post("/api/champions/challenges/0123456789ab/approve", json={"by": "b"})
        assert unknown.status_code == 404 and "no challenge" in unknown.text
        bad = client.post("/api/champions/challenge", json={"slot": "a b", "challenger": "x"})
        assert bad.status_code == 422
        log = client.get("/api/champions/log", params={"slot": slot}).json()
    assert [entry["action"] for entry in log] == [
        "approved",
        "awaiting_approval",
        "challenge_rejected",
        "crowned",
    ]


def champion_log(server: Server, slot: str) -> list[str]:
    """The actions the audit log holds for ``slot``, newest first."""
    log = httpx.get(f"{server.url}/api/champions/log", params={"slot": slot}).json()
    return [entry["action"] for entry in log]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_a_champion_is_challenged_and_restored_from_the_page(
    page: Page,
    learning_server: Server,  # noqa: F811
    theme: str,
) -> None:
    slot = f"desk-{theme}"
    with create_store(learning_server.db) as store:
        champion = promote(store, NOISE)
        better = promote(store, BETTER)  # same algorithm and features: a minor change
    page.goto("/ui/insights")
    if theme == "dark":
        page.get_by_role("button", name="Dark theme").click()
    page.get_by_role("link", name="champions and challengers").click()
    expect(page.locator("html")).to_have_attribute("data-theme", theme)
    expect(page.locator("#champions-region")).to_have_attribute("aria-busy", "false")

    errors = page.locator("#challenge-errors")
    submit = page.get_by_role("button", name="Challenge", exact=True)
    page.get_by_label("Slot to challenge").fill(slot)
    page.get_by_label("Challenger promotion").fill(champion)
    submit.click()  # nobody named
    expect(errors).to_contain_text("Nothing was changed")
    expect(errors).to_contain_text("by: String should have at least 1 character")
    page.get_by_label("Asked by").fill("alice")
    page.get_by_label("Significance (one-sided)").fill("0.5")
    submit.click()
    expect(errors).to_contain_text("alpha: Input should be less than or equal to 0.2")
    page.get_by_label("Significance (one-sided)").fill("0.05")
    page.get_by_label("Challenger promotion").fill("0123456789ab")
    submit.click()
    expect(errors).to_contain_text("no promoted model '0123456789ab'")
    assert champion_log(learning_server, slot) == []  # nothing recorded
    shot(page, f"champions-3-refused-{theme}")

    page.get_by_label("Challenger promotion").fill(champion)
    submit.click()
    result = page.locator("#challenge-result")
    expect(result).to_contain_text("crowned")
    row = page.locator(f"#slots-table tr[data-slot='{slot}']")
    expect(row).to_contain_text(champion)
    page.get_by_label("Challenger promotion").fill(better)
    submit.click()
    expect(result).to_contain_text("replaced")
    expect(row).to_contain_text(better)
    expect(errors).to_be_hidden()

    restore_errors = page.locator("#restore-errors")
    page.get_by_label("Slot to restore").select_option(slot)
    page.get_by_role("button", name="Restore").click()  # nobody named
    expect(restore_errors).to_contain_text("by: String should have at least 1 character")
    page.get_by_label("Backup id").fill("0")
    page.get_by_label("Restored by").fill("bob")
    page.get_by_role("button", name="Restore").click()
    expect(restore_errors).to_contain_text("backup: Input should be greater than or equal to 1")
    assert champion_log(learning_server, slot)[0] != "restored"
    page.get_by_label("Backup id").fill("")
    page.get_by_label("Reason").fill("the new one has not been reviewed")
    page.get_by_role("button", name="Restore").click()
    expect(page.locator("#restore-result")).to_contain_text(
        f"Restored: {champion} is champion of {slot} again"
    )
    expect(row).to_contain_text(champion)
    restored = page.locator("#log-table tr[data-action='restored']").filter(has_text=slot)
    expect(restored).to_contain_text("bob")
    expect(restored).to_contain_text("the new one has not been reviewed")
    shot(page, f"champions-4-restored-{theme}")
    log = champion_log(learning_server, slot)
    assert log[0] == "restored" and log[-1] == "crowned" and "replaced" in log
    with create_store(learning_server.db) as store:
        assert store.champions.slot(slot).promotion_id == champion
