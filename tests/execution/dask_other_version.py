"""Preloaded into a ``dask worker`` (``--preload tests/execution/dask_other_version.py``)
to make it report another strategy-factory version: how the tests stand in for a worker
machine with a different install, without building a second package."""

import strategy_factory

strategy_factory.__version__ = "0.0.0+other"
