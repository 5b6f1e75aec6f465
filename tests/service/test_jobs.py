"""The queue over HTTP: exactly the endpoints ``factory worker --server`` calls, fenced by
lease tokens, plus the pending list and the workers' heartbeats."""

from __future__ import annotations

import threading

from fastapi.testclient import TestClient

from strategy_factory.execution import HttpJobSource, run_worker
from strategy_factory.store import Job, Store
from tests.service.conftest import row_counts


def _claim(client: TestClient, worker: str = "w1", **body: object) -> dict | None:
    response = client.post("/jobs/claim", json={"worker_id": worker, **body})
    assert response.status_code == 200, response.text
    return response.json()["job"]


def test_claim_heartbeat_complete_follow_the_lease(client: TestClient, store: Store) -> None:
    assert _claim(client) is None
    # Kinds of work without a result schema: this test is about the lease alone.
    store.queue.enqueue([Job("sample", {"n": 1}, parent_sqn=1.0), Job("record", {"n": 2})])
    job = _claim(client, kinds=["record"], lease_seconds=30)
    assert job is not None
    assert set(job) == {"id", "kind", "payload", "lease_token", "attempts", "run_id"}
    assert (job["kind"], job["payload"], job["attempts"], job["run_id"]) == (
        "record",
        {"n": 2},
        1,
        None,
    )
    lease = {"lease_token": job["lease_token"]}
    beat = {**lease, "lease_seconds": 30, "worker_id": "w1"}
    assert client.post(f"/jobs/{job['id']}/heartbeat", json=beat).json() == {"renewed": True}
    stale = {**beat, "lease_token": "stale"}
    assert client.post(f"/jobs/{job['id']}/heartbeat", json=stale).json() == {"renewed": False}

    result = {"summary": {"sqn": 2.5}}
    wrong = client.post(f"/jobs/{job['id']}/complete", json={"lease_token": "x", "result": {}})
    assert wrong.json() == {"completed": False}
    done = client.post(f"/jobs/{job['id']}/complete", json={**lease, "result": result})
    assert done.json() == {"completed": True}
    again = client.post(f"/jobs/{job['id']}/complete", json={**lease, "result": {"other": 1}})
    assert again.json() == {"completed": False}
    recorded = store.queue.get(job["id"])
    assert (recorded.status, recorded.result) == ("done", result)


def test_a_result_that_does_not_match_its_schema_is_refused(
    client: TestClient, store: Store
) -> None:
    store.queue.enqueue([Job("train", {"n": 1}), Job("simulate", {"n": 2})])
    for kind, problem in (("train", "summary: Field required"), ("simulate", "rows")):
        job = _claim(client, kinds=[kind], lease_seconds=30)
        assert job is not None
        lease = {"lease_token": job["lease_token"]}
        for result in ({"summary": {"sqn": 2.5}}, {"rows": [{"ticker": 1}] * 3}, {}):
            answer = client.post(f"/jobs/{job['id']}/complete", json={**lease, "result": result})
            assert answer.status_code == 400, answer.text
            assert f"the {kind} result is invalid" in answer.json()["detail"]
        assert problem in answer.json()["detail"]
        assert store.queue.get(job["id"]).status == "running"  # nothing was recorded


def test_fail_is_fenced_and_retried_until_attempts_run_out(
    client: TestClient, store: Store
) -> None:
    store.queue.enqueue([Job("train", {"n": 1}, max_attempts=2)])
    for attempt in (1, 2):
        job = _claim(client)
        assert job is not None and job["attempts"] == attempt
        stale = client.post(f"/jobs/{job['id']}/fail", json={"lease_token": "x", "error": "E"})
        assert stale.json() == {"failed": False}
        body = {"lease_token": job["lease_token"], "error": f"ValueError: attempt {attempt}"}
        assert client.post(f"/jobs/{job['id']}/fail", json=body).json() == {"failed": True}
    assert _claim(client) is None
    recorded = store.queue.get(job["id"])
    assert (recorded.status, recorded.error) == ("failed", "ValueError: attempt 2")


def test_pending_lists_claim_order_without_payloads(client: TestClient, store: Store) -> None:
    store.queue.enqueue(
        [
            Job("train", {"n": 0, "artifact": "x" * 1000}),
            Job("simulate", {"n": 1}, parent_sqn=0.5),
            Job("simulate", {"n": 2}, parent_sqn=3.0),
        ]
    )
    listed = client.get("/jobs/pending").json()
    assert [j["id"] for j in listed] == [j.id for j in store.queue.pending()]
    assert [j["parent_sqn"] for j in listed] == [3.0, 0.5, None]
    assert all("payload" not in j for j in listed)
    assert len(client.get("/jobs/pending?limit=1").json()) == 1


def test_worker_heartbeats_register_and_show_live(client: TestClient, store: Store) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    job = store.queue.pending()[0].id
    body = {"worker_id": "remote-1", "hostname": "gpu-box", "pid": 4242, "current_job_id": None}
    assert client.post("/workers/heartbeat", json=body).json() == {"ok": True}
    busy = {**body, "current_job_id": job}
    assert client.post("/workers/heartbeat", json=busy).json() == {"ok": True}
    unknown = client.post("/workers/heartbeat", json={**body, "current_job_id": job + 99})
    assert unknown.status_code == 404
    assert f"no job {job + 99}" in unknown.json()["detail"]
    [worker] = client.get("/workers").json()
    assert (worker["id"], worker["hostname"], worker["pid"], worker["current_job_id"]) == (
        "remote-1",
        "gpu-box",
        4242,
        job,
    )
    assert client.get("/api/stats").json()["live_workers"] == 1


def test_malformed_job_bodies_are_422_and_change_nothing(
    client: TestClient, store: Store, store_url: str
) -> None:
    store.queue.enqueue([Job("train", {"n": 1})])
    before = row_counts(store_url)
    bad = [
        ("/jobs/claim", {"worker_id": "w", "lease_seconds": 0}, "body.lease_seconds"),
        ("/jobs/claim", {"lease_seconds": 10}, "body.worker_id"),
        ("/jobs/claim", {"worker_id": "w", "kinds": []}, "body.kinds"),
        ("/jobs/1/complete", {"lease_token": "t", "result": [1, 2]}, "body.result"),
        ("/jobs/x/fail", {"lease_token": "t", "error": "E"}, "path.job_id"),
        ("/workers/heartbeat", {"worker_id": "w", "hostname": "h", "pid": "p"}, "body.pid"),
    ]
    for path, body, field in bad:
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        assert field in response.json()["message"]
    assert row_counts(store_url) == before
    assert store.queue.counts_by_status()["pending"] == 1


def test_an_http_worker_drains_the_queue_through_the_service(
    client: TestClient, store: Store
) -> None:
    store.queue.enqueue([Job("double", {"x": x}) for x in range(5)])
    source = HttpJobSource(str(client.base_url), token="", transport=client._transport)
    report = run_worker(
        source,
        worker_id="http-worker",
        units={"double": lambda payload: {"y": 2 * payload["x"]}},
        max_jobs=5,
        poll_interval=0.05,
        stop_event=threading.Event(),
    )
    assert len(report.completed) == 5
    done = [store.queue.get(job_id) for job_id in report.completed]
    assert sorted(job.result["y"] for job in done) == [0, 2, 4, 6, 8]
