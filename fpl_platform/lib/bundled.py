"""Read the bundled snapshot in data/ (built from the airsenal wheel; see data/PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fpl_platform.lib.errors import DataValidationError

FILES = ("matches", "player_gameweeks", "fixtures", "fpl_teams", "fpl_elements", "fpl_events", "fifa_team_ratings")


def read(data_dir: str | Path, name: str, season: str | None = None) -> pd.DataFrame:
    """One bundled table, optionally one season of it."""
    path = Path(data_dir) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(f"bundled data file {path} is missing: run `fpl-platform build-data` (see data/PROVENANCE.md)")
    try:
        filters = [("season", "==", season)] if season is not None else None
        return pd.read_parquet(path, filters=filters)
    except Exception as error:  # pyarrow raises several types for a damaged file
        raise DataValidationError(str(path), f"cannot be read as Parquet: {error}") from error
