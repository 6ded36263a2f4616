"""Data sources for ingestion: the bundled snapshot, and the live FPL API for the current season.

Both return frames already normalised into raw.* shape (canonical teams, match keys, validated).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from fpl_platform.lib import bundled, ingest
from fpl_platform.lib.fpl_api import LiveFpl, LiveSeason


class BundledSource:
    """The offline, deterministic snapshot in data/."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir)

    def _label(self, name: str) -> tuple[str, str]:
        return str(self.data_dir / f"{name}.parquet"), f"bundled:{name}.parquet"

    def matches(self, season: str) -> pd.DataFrame:
        path, label = self._label("matches")
        frame = bundled.read(self.data_dir, "matches", season)
        return ingest.normalise_matches(frame, f"{path} (season {season})", label)

    def player_gameweeks(self, season: str) -> pd.DataFrame:
        path, label = self._label("player_gameweeks")
        frame = bundled.read(self.data_dir, "player_gameweeks", season)
        if frame.empty:
            return frame
        return ingest.normalise_player_gameweeks(frame, f"{path} (season {season})", label)

    def squad(self) -> pd.DataFrame | None:
        """The next gameweek's player-fixtures; the bundle has none (its squads are in player_gameweeks)."""
        return None

    def fixtures(self) -> pd.DataFrame:
        path, label = self._label("fixtures")
        frame = bundled.read(self.data_dir, "fixtures")
        return ingest.normalise_fixtures(frame, path, label)


class LiveSource(BundledSource):
    """The FPL API for the season it is currently serving; earlier seasons come from the bundle."""

    def __init__(self, data_dir: str | Path, api_base: str, *, retries: int = 4, backoff_seconds: float = 0.5):
        super().__init__(data_dir)
        self.client = LiveFpl(api_base, retries=retries, backoff_seconds=backoff_seconds)
        self._season: LiveSeason | None = None

    def _live(self, with_players: bool) -> LiveSeason:
        if self._season is None or (with_players and self._season.player_gameweeks is None):
            self._season = self.client.season(with_players=with_players)
        return self._season

    def current_season(self) -> str:
        return self._live(False).season

    def matches(self, season: str) -> pd.DataFrame:
        live = self._live(False)
        if season != live.season:
            return super().matches(season)
        return ingest.normalise_matches(live.matches, f"{self.client.base_url}/fixtures/", "fpl-api")

    def player_gameweeks(self, season: str) -> pd.DataFrame:
        if season != self.current_season():
            return super().player_gameweeks(season)
        live = self._live(True)
        return ingest.normalise_player_gameweeks(live.player_gameweeks, f"{self.client.base_url}/element-summary/", "fpl-api")

    def fixtures(self) -> pd.DataFrame:
        live = self._live(False)
        history = super().fixtures()
        current = ingest.normalise_fixtures(live.fixtures, f"{self.client.base_url}/fixtures/", "fpl-api")
        return pd.concat([history[history["season"] != live.season], current], ignore_index=True)

    def squad(self) -> pd.DataFrame | None:
        live = self._live(False)
        if live.squad is None or live.squad.empty:
            return None
        return ingest.normalise_squad(live.squad, f"{self.client.base_url}/bootstrap-static/", "fpl-api")
