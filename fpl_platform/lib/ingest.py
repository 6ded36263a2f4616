"""Turn source rows into the raw.* tables: canonical team names, match keys, validation.

Every check raises DataValidationError naming the file, the row and the field, before anything is
written, so a bad file never reaches the warehouse.
"""

from __future__ import annotations

import pandas as pd

from fpl_platform.lib import teams
from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.seasons import GAMEWEEKS_PER_SEASON, season_window


def match_id(season: str, home_team: str, away_team: str) -> str:
    """'2025-26:LIV-BOU' from canonical (or any known) team names."""
    return f"{season}:{teams.resolve(home_team, 'match key').code}-{teams.resolve(away_team, 'match key').code}"


def match_ids(frame: pd.DataFrame, season_column="season", home="home_team", away="away_team") -> pd.Series:
    codes = {t.name: t.code for t in teams.TEAMS}
    return frame[season_column] + ":" + frame[home].map(codes) + "-" + frame[away].map(codes)


def integer_column(frame: pd.DataFrame, column: str, source: str, *, minimum: int | None = None, maximum: int | None = None):
    """Parse a column as integers ('2', '2.0', 2 all fine); a bad or out-of-range value names its row."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values % 1 != 0)
    if minimum is not None:
        bad |= values < minimum
    if maximum is not None:
        bad |= values > maximum
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        expected = (
            "an integer" + (f" >= {minimum}" if minimum is not None else "") + (f" <= {maximum}" if maximum is not None else "")
        )
        raise DataValidationError(
            source,
            f"{column} is {frame[column].iat[position]!r}, expected {expected}",
            row=_source_row(frame, position),
            field=column,
        )
    return values.astype("int64")


def _source_row(frame: pd.DataFrame, position: int) -> int:
    return int(frame["_source_row"].iat[position]) if "_source_row" in frame else position


def check_kickoffs_in_season(frame: pd.DataFrame, source: str, column: str = "kickoff") -> None:
    """Every kickoff must fall inside its season's window."""
    for season, rows in frame.groupby("season"):
        start, end = season_window(season)
        outside = rows[(rows[column] < start) | (rows[column] >= end)]
        if len(outside):
            position = frame.index.get_loc(outside.index[0])
            raise DataValidationError(
                source,
                f"{column} {outside[column].iat[0]} is outside season {season} ({start:%Y-%m-%d} to {end:%Y-%m-%d})",
                row=_source_row(frame, position),
                field=column,
            )


def check_unique_matches(frame: pd.DataFrame, source: str) -> None:
    """One match per (season, home, away)."""
    duplicated = frame.duplicated(["season", "home_team", "away_team"], keep="first")
    if duplicated.any():
        position = int(duplicated.to_numpy().nonzero()[0][0])
        row = frame.iloc[position]
        first = frame[
            (frame["season"] == row["season"])
            & (frame["home_team"] == row["home_team"])
            & (frame["away_team"] == row["away_team"])
        ]
        raise DataValidationError(
            source,
            f"duplicated match {row['home_team']} v {row['away_team']} in {row['season']} "
            f"(first at row {_source_row(frame, frame.index.get_loc(first.index[0]))})",
            row=_source_row(frame, position),
            field="HomeTeam/AwayTeam" if "_source_row" in frame else "home_team/away_team",
        )


def normalise_matches(frame: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """Source match rows -> raw.matches rows (canonical names, typed, validated)."""
    frame = teams.canonicalise_columns(frame.reset_index(drop=True), ["home_team", "away_team"], source, row_offset=0)
    out = pd.DataFrame(
        {
            "season": frame["season"],
            "gameweek": integer_column(frame, "gameweek", source, minimum=1, maximum=GAMEWEEKS_PER_SEASON),
            "kickoff": pd.to_datetime(frame["kickoff"], utc=True),
            "kickoff_has_time": frame["kickoff_has_time"].astype(bool),
            "home_team": frame["home_team"],
            "away_team": frame["away_team"],
            "home_goals": integer_column(frame, "home_goals", source, minimum=0),
            "away_goals": integer_column(frame, "away_goals", source, minimum=0),
            "source": label,
        }
    )
    if "_source_row" in frame:
        out["_source_row"] = frame["_source_row"]
    same = out["home_team"] == out["away_team"]
    if same.any():
        position = int(same.to_numpy().nonzero()[0][0])
        raise DataValidationError(
            source,
            f"home and away team are both {out['home_team'].iat[position]!r}",
            row=_source_row(out, position),
            field="away_team",
        )
    check_unique_matches(out, source)
    check_kickoffs_in_season(out, source)
    out.insert(0, "match_id", match_ids(out))
    return out


def normalise_player_gameweeks(frame: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """Source player rows -> raw.player_gameweeks rows (canonical names, player ids, match keys)."""
    frame = teams.canonicalise_columns(
        frame.reset_index(drop=True), ["team_name", "opponent_name", "home_team_name", "away_team_name"], source, row_offset=0
    )
    out = frame.rename(columns={"team_name": "team", "opponent_name": "opponent"})
    out["gameweek"] = integer_column(out, "gameweek", source, minimum=1, maximum=GAMEWEEKS_PER_SEASON)
    out["match_id"] = match_ids(out, home="home_team_name", away="away_team_name")
    code = out["player_code"].astype("Int64")
    out["player_id"] = ("fpl:" + code.astype("string")).fillna("name:" + out["player_name"].astype("string"))
    out["source"] = label
    check_kickoffs_in_season(out, source)
    return out


def normalise_fixtures(frame: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """FPL fixtures -> raw.fixtures rows."""
    frame = teams.canonicalise_columns(frame.reset_index(drop=True), ["home_team", "away_team"], source, row_offset=0)
    out = frame[
        [
            "season",
            "fpl_fixture_id",
            "gameweek",
            "kickoff",
            "home_team",
            "away_team",
            "home_goals",
            "away_goals",
            "home_difficulty",
            "away_difficulty",
            "finished",
        ]
    ].copy()
    played = out["gameweek"].notna()
    if played.any():
        out.loc[played, "gameweek"] = integer_column(out[played], "gameweek", source, minimum=1, maximum=GAMEWEEKS_PER_SEASON)
    for column in ("home_goals", "away_goals"):
        negative = out[column].notna() & (out[column] < 0)
        if negative.any():
            position = int(negative.to_numpy().nonzero()[0][0])
            raise DataValidationError(
                source, f"{column} is {out[column].iat[position]}, expected >= 0", row=position, field=column
            )
    out.insert(2, "match_id", match_ids(out))
    out["source"] = label
    return out


def normalise_squad(frame: pd.DataFrame, source: str, label: str) -> pd.DataFrame:
    """Upcoming player-fixtures -> raw.squad rows (canonical names, player ids, match keys)."""
    frame = teams.canonicalise_columns(
        frame.reset_index(drop=True), ["team_name", "opponent_name", "home_team_name", "away_team_name"], source, row_offset=0
    )
    out = frame.rename(columns={"team_name": "team", "opponent_name": "opponent"})
    out["match_id"] = match_ids(out, home="home_team_name", away="away_team_name")
    out["player_id"] = "fpl:" + out["player_code"].astype("int64").astype(str)
    out["source"] = label
    return out
