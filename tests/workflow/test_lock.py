"""One process runs a workflow at a time, and a killed one leaves its workflow resumable."""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from strategy_factory.workflow import WorkflowBusyError, is_running
from strategy_factory.workflow.lock import holding

HOLD_CEILING = 60.0  # seconds a spawned child gets to take the lock (it starts Python)


def _hold_forever(root: str, ready: multiprocessing.synchronize.Event) -> None:
    with holding(Path(root)):
        ready.set()
        while True:
            time.sleep(1)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "wf-1" / "metadata").mkdir(parents=True)
    return tmp_path / "wf-1"


def test_a_held_workflow_is_running_and_a_second_runner_is_refused(root: Path) -> None:
    assert is_running(root) is False  # never run
    with holding(root):
        assert is_running(root) is True
        with pytest.raises(WorkflowBusyError, match=f"pid {os.getpid()} on "), holding(root, 0):
            pass
    assert is_running(root) is False
    assert is_running(root / "gone") is None  # no workspace here: cannot tell


def test_readers_asking_all_the_time_never_make_a_runner_fail(root: Path) -> None:
    stop = threading.Event()
    answers: set[bool | None] = set()

    def ask() -> None:  # a dashboard polling as fast as it can
        while not stop.is_set():
            answers.add(is_running(root))

    reader = threading.Thread(target=ask)
    reader.start()
    try:
        for _ in range(200):
            with holding(root):
                pass
    finally:
        stop.set()
        reader.join()
    assert answers <= {True, False}


def test_a_killed_runner_lets_go_of_its_workflow(root: Path) -> None:
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    child = context.Process(target=_hold_forever, args=(str(root), ready))
    child.start()
    try:
        assert ready.wait(HOLD_CEILING)
        assert is_running(root) is True
        with pytest.raises(WorkflowBusyError, match=f"pid {child.pid} on "), holding(root, 0):
            pass
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    assert is_running(root) is False
    with holding(root):  # the next runner takes it at once
        assert is_running(root) is True
