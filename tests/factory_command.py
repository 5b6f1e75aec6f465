"""Run the real ``factory`` console entry point in a subprocess, as a user would."""

from __future__ import annotations

import subprocess
import sys

FACTORY = [sys.executable, "-c", "from strategy_factory.cli import main; main()"]


def factory(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """``factory ARGS…`` with captured text output; the environment is inherited."""
    return subprocess.run(
        [*FACTORY, *args], capture_output=True, text=True, check=False, timeout=timeout
    )
