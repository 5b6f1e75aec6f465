"""Fixtures of the understanding tests: the learning tests' promoted strategy on synthetic
hourly bars (a real run, a real model artifact and a promotion to diagnose), and the
store fixtures of tests/store (every backend)."""

from tests.learning.conftest import promoted, promoted_home
from tests.store.conftest import postgres_store_url, store, store_url

__all__ = ["postgres_store_url", "promoted", "promoted_home", "store", "store_url"]
