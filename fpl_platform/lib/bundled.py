"""Read the bundled snapshot in data/ (built from the airsenal wheel; see data/PROVENANCE.md)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from fpl_platform.lib.errors import DataValidationError

if TYPE_CHECKING:  # the command line checks FILES before any run: pandas is imported where it reads them
    import pandas as pd

FILES = ("matches", "player_gameweeks", "fixtures", "fpl_teams", "fpl_elements", "fpl_events", "fifa_team_ratings")


def read(data_dir: str | Path, name: str, season: str | None = None) -> pd.DataFrame:
    """One bundled table, optionally one season of it (a copy: callers may change it)."""
    path = Path(data_dir) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"bundled data file {path} is missing: run `fpl-platform build-data` (see data/PROVENANCE.md)")
    stat = path.stat()
    # a process reads the same files again and again (the replay: every gameweek's ingestion, squad and
    # fixtures); decoded frames are kept, keyed by the file's identity, so a changed file is read anew
    return _decoded(str(path.resolve()), stat.st_mtime_ns, stat.st_size, season).copy()


@functools.lru_cache(maxsize=16)
def _decoded(path: str, mtime_ns: int, size: int, season: str | None) -> pd.DataFrame:
    try:
        filters = [("season", "==", season)] if season is not None else None
        import pyarrow.parquet as pq

        # Arrow opens the path itself: pandas would hand it a Python file object, whose reads from Arrow's I/O
        # threads could still be waiting for the GIL when CPython finalises, and abort the process at exit
        return pq.read_table(path, filters=filters).to_pandas()
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise DataValidationError(path, f"cannot be read as Parquet: {error}") from error
