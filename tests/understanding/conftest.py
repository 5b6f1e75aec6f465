"""The learning tests' promoted strategy on synthetic hourly bars, reused: a real run, a
real model artifact and a promotion to diagnose."""

from tests.learning.conftest import promoted, promoted_home

__all__ = ["promoted", "promoted_home"]
