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


class ReplaySource(BundledSource):
    """The bundled snapshot as it stood after one gameweek of one season: later results hidden, later
    fixtures unplayed, the next gameweek's squad list (players × fixtures, outcomes stripped) available.
    The season replay advances `reveal` gameweek by gameweek."""

    def __init__(self, data_dir: str | Path, reveal: str):
        super().__init__(data_dir)
        from fpl_platform.lib.asof import parse

        self.reveal = parse(reveal)

    def _cut(self, frame: pd.DataFrame, season: str) -> pd.DataFrame:
        if season > self.reveal.season:
            return frame.iloc[0:0]
        if season == self.reveal.season:
            frame = frame[frame["gameweek"] <= self.reveal.gameweek]
        return frame.reset_index(drop=True)

    def matches(self, season: str) -> pd.DataFrame:
        return self._cut(super().matches(season), season)

    def player_gameweeks(self, season: str) -> pd.DataFrame:
        frame = super().player_gameweeks(season)
        return frame if frame.empty else self._cut(frame, season)

    def fixtures(self) -> pd.DataFrame:
        frame = super().fixtures()
        frame = frame[frame["season"] <= self.reveal.season].reset_index(drop=True)
        later = (frame["season"] == self.reveal.season) & (frame["gameweek"].isna() | (frame["gameweek"] > self.reveal.gameweek))
        frame.loc[later, "finished"] = False
        frame.loc[later, ["home_goals", "away_goals"]] = None
        return frame

    def squad(self) -> pd.DataFrame | None:
        """The next gameweek's players and fixtures as the FPL API lists them before the deadline."""
        from fpl_platform.lib.schemas import SQUAD

        players = super().player_gameweeks(self.reveal.season)
        upcoming = players[players["gameweek"] == self.reveal.gameweek + 1]
        if upcoming.empty:
            return None
        return upcoming.assign(chance_of_playing=None, status=None, source="replay")[SQUAD.column_names].reset_index(drop=True)


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
        if live.player_gameweeks.empty:  # before gameweek 1 (LiveFpl refuses empty histories once fixtures are finished)
            return live.player_gameweeks
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
