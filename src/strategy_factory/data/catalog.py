"""The local bar store: one Parquet file per symbol, written atomically.

Each symbol lives in ``<root>/<SYMBOL>.parquet`` with its :class:`BarMeta` in the
file's own schema metadata, so bars and metadata are replaced together by one
``os.replace`` and a failed or interrupted import leaves the previous file intact.
Bundled datasets are copied in on first use.

Bars can be appended to any stored symbol, bundled ones included (their copy in the
store grows): :meth:`BarCatalog.append_file` checks that the new bars continue the
series (:mod:`.append`) and rewrites the file the same atomic way. Writers take turns
under an operating-system lock on the store's folder, so two appends at once never lose one.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from strategy_factory.data.append import plan_append
from strategy_factory.data.bundled import BUNDLED, load_bundled
from strategy_factory.data.files import file_locator, read_bars
from strategy_factory.data.schema import INDEX_NAME, BarMeta, bars_digest
from strategy_factory.data.validation import Locator, normalize_bars
from strategy_factory.errors import FactoryError, NotFoundError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: writers are not serialized
    fcntl = None  # type: ignore[assignment]

_META_KEY = b"strategy_factory.bar_meta"
# Bars per Parquet row group: a read of recent bars (a date range) skips the older groups,
# so it costs what it returns plus at most one group, however long the history.
ROW_GROUP_BARS = 65_536
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9_.\-^=]{0,39}$")


def normalize_symbol(symbol: str) -> str:
    """Upper-case ``symbol`` and check it is a usable name."""
    name = symbol.strip().upper()
    if not _SYMBOL.match(name):
        raise FactoryError(
            f"symbol {symbol!r} is not a valid name: use up to 40 letters, digits or _ . - ^ =, "
            "starting with a letter or digit"
        )
    return name


@dataclass(frozen=True)
class AppendResult:
    """What an append did: bars added (``first``/``last`` of them) and bars it repeated."""

    symbol: str
    added: int
    repeated: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    meta: BarMeta


class BarCatalog:
    """Bars by symbol: the bundled datasets plus everything imported."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, symbol: str) -> Path:
        return self.root / f"{symbol}.parquet"

    def symbols(self) -> list[BarMeta]:
        """Metadata of every known symbol, bundled ones first."""
        for name in BUNDLED:
            self._ensure_cached(name)
        stored = sorted(p.stem for p in self.root.glob("*.parquet"))
        ordered = [*BUNDLED, *(s for s in stored if s not in BUNDLED)]
        return [self.meta(s) for s in ordered]

    def names(self) -> list[str]:
        """Names of every known symbol without loading anything."""
        stored = sorted(p.stem for p in self.root.glob("*.parquet")) if self.root.exists() else []
        return [*BUNDLED, *(s for s in stored if s not in BUNDLED)]

    def meta(self, symbol: str) -> BarMeta:
        """Metadata of one symbol (raises :class:`NotFoundError` naming the known ones)."""
        path = self._ensure_cached(self._known(symbol))
        raw = pq.read_schema(path).metadata[_META_KEY]
        return BarMeta.from_json(raw.decode())

    def digest(self, symbol: str) -> str:
        """The digest of the stored bars' content (computed for files from older versions)."""
        found = self.meta(symbol).digest
        return found or bars_digest(self.load(symbol))

    def version(self, symbol: str) -> str:
        """A token that changes whenever the stored bars of ``symbol`` are replaced."""
        stat = self._ensure_cached(self._known(symbol)).stat()
        return f"{self.root.resolve()}:{symbol}:{stat.st_mtime_ns}:{stat.st_size}"

    def load(
        self,
        symbol: str,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``symbol``, optionally restricted to ``start <= timestamp <= end``."""
        path = self._ensure_cached(self._known(symbol))
        if start is None and end is None:
            return pd.read_parquet(path)
        bounds = [(INDEX_NAME, ">=", _utc(start)), (INDEX_NAME, "<=", _utc(end))]
        chosen = [bound for bound in bounds if bound[2] is not None]
        # The filter skips whole row groups outside the range; the slice is exact.
        return pd.read_parquet(path, filters=chosen).loc[_utc(start) : _utc(end)]

    def bars_back(self, symbol: str, moment: pd.Timestamp, count: int) -> pd.Timestamp:
        """The timestamp of the bar ``count`` bars before the first stored bar at or after
        ``moment`` (clamped to the stored bars: the first when there are fewer, the last
        when ``moment`` is past it and ``count`` is 0).

        Reads the timestamps of the few row groups around ``moment`` only, found by their
        statistics: the answer costs the same whatever the length of the history.
        """
        file = pq.ParquetFile(self._ensure_cached(self._known(symbol)))
        column = file.schema_arrow.get_field_index(INDEX_NAME)
        groups = [file.metadata.row_group(g) for g in range(file.metadata.num_row_groups)]
        stats = [group.column(column).statistics for group in groups]
        last = len(groups) - 1
        if all(s is not None and s.has_min_max for s in stats):
            last = next((g for g, s in enumerate(stats) if s.max >= moment), last)
        first, before = last, 0
        while first > 0 and before < count:
            first -= 1
            before += groups[first].num_rows
        table = file.read_row_groups(list(range(first, last + 1)), columns=[INDEX_NAME])
        index = pd.DatetimeIndex(table.column(INDEX_NAME).to_pandas())
        position = int(index.searchsorted(moment)) - count
        return index[min(max(position, 0), len(index) - 1)]

    def import_file(
        self, path: str | Path, symbol: str, timezone: str | None = None, replace: bool = False
    ) -> BarMeta:
        """Validate a CSV/Parquet file and store it as ``symbol``; nothing changes on error."""
        name = self.writable(symbol, replace)
        bars = read_bars(path, timezone)
        with self._locked():
            self.writable(name, replace)
            return self._write(name, bars, Path(path).name, str(Path(path).resolve()), timezone)

    def save(
        self, symbol: str, bars: pd.DataFrame, source: str = "python", replace: bool = False
    ) -> BarMeta:
        """Validate a bar frame built in Python (e.g. synthetic bars) and store it."""
        name = self.writable(symbol, replace)
        normalized = normalize_bars(bars, source)
        with self._locked():
            self.writable(name, replace)
            return self._write(name, normalized, source)

    def append_file(
        self,
        path: str | Path,
        symbol: str,
        timezone: str | None = None,
        max_gap: pd.Timedelta | None = None,
    ) -> AppendResult:
        """Append the bars of a CSV/Parquet file that follow the stored ones of ``symbol``.

        The file may repeat stored bars unchanged; anything that does not continue the
        series (see :mod:`strategy_factory.data.append`) raises :class:`FactoryError` and
        changes nothing. The file is recorded as the one ``update`` reads again.
        """
        path = Path(path)
        incoming = read_bars(path, timezone)
        where = (str(path.resolve()), timezone)
        return self._append(symbol, incoming, file_locator(path), where, max_gap)

    def append(
        self,
        symbol: str,
        bars: pd.DataFrame,
        source: str = "python",
        max_gap: pd.Timedelta | None = None,
    ) -> AppendResult:
        """Append a bar frame built in Python to ``symbol`` (checked like a file)."""
        incoming = normalize_bars(bars, source)
        return self._append(symbol, incoming, Locator(source), None, max_gap)

    def update(self, symbol: str, max_gap: pd.Timedelta | None = None) -> AppendResult:
        """Read the file ``symbol`` was last imported or appended from again and append
        what is new in it."""
        meta = self.meta(symbol)
        if not meta.source_path:
            raise FactoryError(
                f"{meta.symbol} was not read from a file (source: {meta.source}), so there is "
                f"nothing to read again; append bars with `factory data import FILE --symbol "
                f"{meta.symbol} --append`"
            )
        return self.append_file(meta.source_path, meta.symbol, meta.timezone, max_gap)

    def _append(
        self,
        symbol: str,
        incoming: pd.DataFrame,
        locate: Locator,
        where: tuple[str, str | None] | None,
        max_gap: pd.Timedelta | None,
    ) -> AppendResult:
        name = self._known(symbol)
        with self._locked():
            stored = self.load(name)
            meta = self.meta(name)
            plan = plan_append(stored, incoming, name, locate, max_gap)
            path, zone = where if where is not None else (meta.source_path, meta.timezone)
            if len(plan.new):
                bars = pd.concat([stored, plan.new])
                meta = self._write(name, bars, meta.source, path, zone)
            first, last = (plan.new.index[0], plan.new.index[-1]) if len(plan.new) else (None, None)
            return AppendResult(name, len(plan.new), plan.repeated, first, last, meta)

    def _known(self, symbol: str) -> str:
        name = normalize_symbol(symbol)
        if name in BUNDLED or self._path(name).exists():
            return name
        raise NotFoundError(
            f"unknown symbol {symbol!r}; known: {', '.join(self.names())}. "
            f"Import it with `factory data import FILE --symbol {name}`"
        )

    def writable(self, symbol: str, replace: bool) -> str:
        """The stored name ``symbol`` would be saved under, or a FactoryError saying why it
        cannot be (a bundled dataset, or an existing symbol without ``replace``)."""
        name = normalize_symbol(symbol)
        if name in BUNDLED:
            raise FactoryError(
                f"{name} is a bundled dataset; import your file under another symbol"
            )
        if self._path(name).exists() and not replace:
            raise FactoryError(f"symbol {name} already exists; pass --replace to overwrite it")
        return name

    def _ensure_cached(self, name: str) -> Path:
        path = self._path(name)
        if name in BUNDLED and not path.exists():
            self._write(name, load_bundled(name), source=BUNDLED[name][1])
        return path

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the store's write lock for the block.

        A POSIX ``flock`` on the store's folder itself: writers take turns (one symbol at
        a time, which a write of a few seconds at most can afford) and no lock file is left.
        """
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        self.root.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.root, os.O_RDONLY)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing lets go of the lock

    def _write(
        self,
        name: str,
        bars: pd.DataFrame,
        source: str,
        source_path: str = "",
        timezone: str | None = None,
    ) -> BarMeta:
        meta = BarMeta.describe(name, bars, source, source_path, timezone)
        table = pa.Table.from_pandas(bars, preserve_index=True)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), _META_KEY: meta.to_json().encode()}
        )
        self.root.mkdir(parents=True, exist_ok=True)
        # Created like any other file (mode 0666 less the umask), not 0600 as mkstemp
        # would: the rename keeps the temporary's mode, and others may need to read bars.
        temporary = self.root / f".{name}.{uuid.uuid4().hex}.tmp"
        try:
            with temporary.open("xb") as handle:
                pq.write_table(table, handle, row_group_size=ROW_GROUP_BARS)
            temporary.replace(self._path(name))
        finally:
            temporary.unlink(missing_ok=True)
        return meta


def _utc(moment: str | pd.Timestamp | None) -> pd.Timestamp | None:
    if moment is None:
        return None
    stamp = pd.Timestamp(moment)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
