"""Chart validation over the API (``/api/report-validations``): a validation started on
the server reaches the checks, verdict and counts that ``factory report RUN --validate``
writes for the same run, its report and screenshots are served from the server's folder;
a report whose drawn markers were shifted by one bar in the page is caught; refusals say
what to fix and start nothing; one validation runs at a time; and a validation a stopped
server left unfinished is marked failed by the next one."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from strategy_factory.cli import app
from strategy_factory.errors import FactoryError
from strategy_factory.evolution.report_page import CHART_IDS
from strategy_factory.service import report_validations
from strategy_factory.understanding import chart_report
from strategy_factory.understanding.chart_check import TRADE_AXES
from tests.factory_command import factory
from tests.report_pages import chart_ids
from tests.service.chart_runs import record_small_run
from tests.service.conftest import CHROMIUM, serving
from tests.understanding.test_chart_check import SHIFT

PNG = b"\x89PNG\r\n\x1a\n"
# Chromium's start and a 5 MB page drawn on a loaded machine; only the ceiling.
VALIDATION_CEILING_SECONDS = 300.0
AXIS_OF_PERIOD = {period: axis for axis, period in TRADE_AXES.items()}


@pytest.fixture(scope="module")
def small_run(bars_home: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """The store's URL and the id of a small finished run on SYN."""
    db = f"sqlite:///{tmp_path_factory.mktemp('validations') / 'factory.db'}"
    return db, record_small_run(bars_home, db)


@pytest.fixture
def client(service_env: Path, small_run: tuple[str, str], tmp_path: Path) -> Iterator[TestClient]:
    """The service over the small run's store, its validations under this test's folder."""
    with serving(small_run[0], results=tmp_path / "results", chromium=CHROMIUM) as started:
        yield started


@pytest.fixture
def held_validation(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Validations wait until the event is set, then fail: a validation held running."""
    release = threading.Event()

    def wait_then_fail(*_: Any) -> None:
        release.wait(VALIDATION_CEILING_SECONDS)
        raise FactoryError("stopped by the test")

    monkeypatch.setattr(report_validations, "validate_report", wait_then_fail)
    yield release
    release.set()


def wait_until(client: TestClient, validation_id: str, states: tuple[str, ...]) -> dict[str, Any]:
    """Poll the validation until it is in one of ``states``."""
    deadline = time.monotonic() + VALIDATION_CEILING_SECONDS
    while True:
        validation = client.get(f"/api/report-validations/{validation_id}").json()
        if validation["state"] in states:
            return validation
        assert time.monotonic() < deadline, f"still {validation['state']}: {validation}"
        time.sleep(0.2)


class CheckRows(HTMLParser):
    """The rows of the ``chart-checks`` table a validated report holds."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.verdict = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "tr" and "data-passed" in names:
            self.rows.append([])
        elif tag == "td" and self.rows and self._in is None:
            self.rows[-1].append("")
            self._in = "td"
        elif tag == "p" and "verdict" in (names.get("class") or ""):
            self._in = "verdict"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "p"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "td":
            self.rows[-1][-1] += data.strip()
        elif self._in == "verdict":
            self.verdict += data.strip()


def report_checks(page: str) -> CheckRows:
    """The checks and the verdict of the "Visual validation" section of ``page``."""
    parser = CheckRows()
    parser.feed(page[page.index('<section id="visual-validation">') :])
    return parser


@pytest.mark.browser
def test_a_validation_agrees_with_the_command(
    client: TestClient, small_run: tuple[str, str], tmp_path: Path
) -> None:
    db, run_id = small_run
    started = client.post("/api/report-validations", json={"run_id": run_id})
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "queued" and started.json()["report_url"] is None
    validation = wait_until(client, started.json()["id"], ("done", "failed"))
    assert validation["state"] == "done", validation["error"]
    assert client.get("/api/report-validations").json() == [validation]

    target = tmp_path / "cli.html"
    done = CliRunner().invoke(app, ["report", run_id, "--validate", "-o", str(target), "--db", db])
    assert done.exit_code == 0, done.output
    command = report_checks(target.read_text())
    assert command.verdict == validation["verdict"]
    assert " ".join(validation["verdict"].split()) in " ".join(done.output.split())
    result = {True: "pass", False: "FAIL"}
    drawn = [
        [
            c["chart"],
            c["what"],
            result[c["passed"]],
            str(c["expected"]),
            str(c["drawn"]),
            c["detail"],
        ]
        for c in validation["checks"]
    ]
    assert drawn == command.rows
    assert len(validation["checks"]) == 14 and validation["passed"] is True
    section = target.read_text().split('<section id="visual-validation">')[1]
    flagged = re.findall(r"<tr><td>(?:selection|holdout)</td>", section)
    assert len(validation["anomalies"]) == len(flagged)

    assert [shot["name"] for shot in validation["screenshots"]] == ["equity-chart", "trades-chart"]
    for shot in validation["screenshots"]:
        image = client.get(shot["url"])
        assert image.headers["content-type"] == "image/png" and image.content.startswith(PNG)
    report = client.get(validation["report_url"])
    assert report.headers["content-type"].startswith("text/html")
    assert report.headers["content-security-policy"].startswith("sandbox allow-scripts")
    assert report_checks(report.text).verdict == validation["verdict"]
    assert chart_ids(report.text) == list(CHART_IDS)
    unknown = client.get(f"/api/report-validations/{validation['id']}/screenshots/lineage-chart")
    assert unknown.status_code == 404
    assert "it has equity-chart, trades-chart" in unknown.json()["detail"]


@pytest.mark.browser
def test_a_report_with_shifted_markers_is_caught(
    client: TestClient, small_run: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    shifted: list[int] = []
    drawn_by_chromium = chart_report.render_and_read

    def shift_holdout_long_entries(page_path: Path, chromium: Path, _: Any = None) -> Any:
        def shift(page: Any) -> None:
            shifted.append(page.evaluate(SHIFT, ["long entry", AXIS_OF_PERIOD["holdout"]]))

        return drawn_by_chromium(page_path, chromium, shift)

    monkeypatch.setattr(chart_report, "render_and_read", shift_holdout_long_entries)
    started = client.post("/api/report-validations", json={"run_id": small_run[1]}).json()
    validation = wait_until(client, started["id"], ("done", "failed"))
    assert validation["state"] == "done", validation["error"]
    assert shifted[0] > 0
    assert validation["passed"] is False
    assert "chart checks FAILED" in validation["verdict"]
    failed = {c["what"]: c for c in validation["checks"] if not c["passed"]}
    assert list(failed) == ["holdout · long entry markers"]
    assert "drawn at the wrong time" in failed["holdout · long entry markers"]["detail"]
    report = client.get(validation["report_url"]).text
    assert 'data-passed="false"' in report


def test_refusals_say_what_to_fix_and_start_nothing(client: TestClient, tmp_path: Path) -> None:
    for body, status, words in [
        ({"run_id": 5}, 422, "body.run_id: Input should be a valid string"),
        ({}, 422, "body.run_id: Field required"),
        ({"run_id": ""}, 422, "body.run_id: String should have at least 1 character"),
        ({"run_id": "r", "path": "/etc"}, 422, "body.path: Extra inputs are not permitted"),
        ({"run_id": "nope"}, 404, "no evolution run 'nope'"),
    ]:
        refused = client.post("/api/report-validations", json=body)
        assert refused.status_code == status, (body, refused.text)
        answer = refused.json()
        assert words in (answer.get("message") or answer["detail"]), answer
    for path, status in [
        ("/api/report-validations/0123456789ab", 404),
        ("/api/report-validations/..%2F..%2Fetc", 404),
        ("/api/report-validations/not-an-id/report", 422),
        ("/api/report-validations?limit=0", 422),
    ]:
        assert client.get(path).status_code == status, path
    assert client.get("/api/report-validations").json() == []
    assert not (tmp_path / "results").exists()


def test_without_chromium_the_server_says_which_setting_to_set(
    service_env: Path, small_run: tuple[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "no-chromium"
    with serving(small_run[0], results=tmp_path, chromium=missing) as client:
        refused = client.post("/api/report-validations", json={"run_id": small_run[1]})
        assert refused.status_code == 503
        assert f"there is no Chromium at {missing}" in refused.json()["detail"]
        assert "set FACTORY_CHROMIUM" in refused.json()["detail"]
        assert client.get("/api/report-validations").json() == []


@pytest.mark.usefixtures("chromium")
def test_one_validation_runs_at_a_time(
    client: TestClient, small_run: tuple[str, str], held_validation: threading.Event
) -> None:
    body = {"run_id": small_run[1]}
    first = client.post("/api/report-validations", json=body).json()
    wait_until(client, first["id"], ("running",))
    busy = client.post("/api/report-validations", json=body)
    assert busy.status_code == 409
    assert busy.json()["detail"] == (
        f"chart validation {first['id']} (run {small_run[1]}) is running; one runs at a time: "
        "start this one when it is done"
    )
    unfinished = client.get(f"/api/report-validations/{first['id']}/report")
    assert unfinished.status_code == 404 and "it has no report" in unfinished.json()["detail"]
    held_validation.set()
    failed = wait_until(client, first["id"], ("failed",))
    assert failed["error"] == "stopped by the test" and failed["finished_at"] is not None
    second = client.post("/api/report-validations", json=body)
    assert second.status_code == 202
    assert [v["id"] for v in client.get("/api/report-validations").json()] == [
        second.json()["id"],
        first["id"],
    ]


@pytest.mark.usefixtures("chromium", "service_env")
def test_a_validation_left_running_by_a_stopped_server_is_marked_failed(
    small_run: tuple[str, str], tmp_path: Path, held_validation: threading.Event
) -> None:
    settings = {"results": tmp_path / "results", "chromium": CHROMIUM}
    with serving(small_run[0], **settings) as client:
        started = client.post("/api/report-validations", json={"run_id": small_run[1]}).json()
        wait_until(client, started["id"], ("running",))
    with serving(small_run[0], **settings) as client:
        validation = client.get(f"/api/report-validations/{started['id']}").json()
    assert validation["state"] == "failed"
    assert validation["error"] == report_validations.INTERRUPTED


def test_the_command_refuses_the_run_ids_the_api_refuses_in_the_same_words(
    client: TestClient, small_run: tuple[str, str]
) -> None:
    for run_id in ["", "x" * 65]:
        refused = client.post("/api/report-validations", json={"run_id": run_id}).json()
        [problem] = refused["detail"]
        command = factory("report", run_id, "--validate", "--db", small_run[0])
        assert command.returncode == 2, command.stderr
        refusal = " ".join(command.stderr.split())
        assert f"error: invalid chart validation: run_id: {problem['msg']}" == refusal
