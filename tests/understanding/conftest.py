"""The store fixtures of tests/store (every backend), for the understanding layer."""

from tests.store.conftest import postgres_store_url, store, store_url  # noqa: F401
