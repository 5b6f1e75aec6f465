"""The one JSON convention of the factory: non-finite numbers are written as ``null``.

Metrics can be undefined (NaN: a Sharpe ratio with no variance) or infinite (a profit
factor with no losing trade), and JSON has neither: ``Infinity`` and ``NaN`` are not JSON,
and strict parsers (``JSON.parse``, ``json.loads(parse_constant=…)``) reject them. Every
JSON the factory shows — ``--json`` output of every command and every API response —
goes through :func:`plain`, so all of them say ``null`` where a number is not finite.
(Rows kept between the engine and its workers keep ∞, which the criteria judge.)
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import orjson

_AS_IS = (str, int, bool, type(None))


def plain(value: Any) -> Any:
    """``value`` as plain JSON values: non-finite floats → None, numpy → Python, tuples →
    lists, datetimes → ISO text."""
    kind = type(value)  # the common exact types first: a large file is mostly these
    if kind is float:
        return value if math.isfinite(value) else None
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {key if type(key) is str else str(key): plain(item) for key, item in value.items()}
    if kind is list:
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dumps(value: Any, **options: Any) -> str:
    """Strict JSON text of ``value`` (see :func:`plain`); ``options`` as for ``json.dumps``."""
    return json.dumps(plain(value), allow_nan=False, **options)


_FILE_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_SERIALIZE_NUMPY
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_APPEND_NEWLINE
)


def _other(value: Any) -> Any:
    converted = plain(value)
    if converted is value:
        raise TypeError(f"{type(value).__name__} is not JSON serializable")
    return converted


def canonical_bytes(value: Any, indent: bool = True) -> bytes:
    """Canonical JSON of ``value`` for files (sorted keys, non-finite numbers as null, a
    final newline; indented by two spaces unless ``indent`` is false): the same values as
    :func:`dumps`, encoded by orjson, several times faster on the large files of a
    workflow (a discovery's performance file holds every metric of every trial)."""
    options = _FILE_OPTIONS | orjson.OPT_INDENT_2 if indent else _FILE_OPTIONS
    return orjson.dumps(value, default=_other, option=options)
