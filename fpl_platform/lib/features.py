"""Match features as of each gameweek's first kickoff: ratings, form, xG and threat form, squad value, rest, market.

Every value describing a match is computed from matches that kicked off before the first kickoff of
the match's gameweek (the "cutoff"), so a model predicting a gameweek sees nothing from it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fpl_platform.lib.metrics import demargin
from fpl_platform.lib.ratings import XI, Elo, rounds, walk_forward_dixon_coles

FORM_WINDOW = 5
MAX_REST_DAYS = 21
TEAM_STATS = ["points", "goals_for", "goals_against", "xg_for", "xg_against", "lineup_value"]
# FPL "threat" (shots and touches in the box, every season with player data) summed over a team's players:
# a chance-quality signal that goals alone miss. Averaged exponentially over about 20 matches (span chosen on
# the validation seasons 2018-19 … 2020-21: 10, 20 and 38 were tried), carrying over between seasons.
THREAT_SPAN = 20
THREAT_STATS = ["threat_for", "threat_against"]


def utc(values: pd.Series) -> pd.Series:
    """Timestamps as datetime64[ns, UTC] (DuckDB returns microseconds in 'Etc/UTC')."""
    return pd.to_datetime(values, utc=True).astype("datetime64[ns, UTC]")


# per match and team, from its players' rows (`TEAM_STATS_SQL`)
TEAM_PLAYER_STATS = ["xg_for", "threat_for", "lineup_value"]
# the players' summed expected goals and threat (NULL when none has the stat: seasons before FPL xG) and the
# fielded XI's FPL value (the 11 with the most minutes, ties broken by price), computed where the rows live:
# the match-features step reads two rows a match instead of every player's. Sums are exact decimals: a
# parallel float sum differs in its last bit from run to run, and a re-run must give identical features
TEAM_STATS_SQL = (
    "SELECT match_id, team, sum(expected_goals::DECIMAL(18, 6))::DOUBLE AS xg_for,"
    " sum(threat::DECIMAL(18, 6))::DOUBLE AS threat_for, list_aggregate(list_slice("
    "list(price ORDER BY minutes DESC, price DESC NULLS LAST) FILTER (WHERE minutes > 0), 1, 11), 'fsum') AS lineup_value"
    " FROM {table} GROUP BY match_id, team ORDER BY match_id, team"
)


def team_stats(players: pd.DataFrame) -> pd.DataFrame:
    """`TEAM_STATS_SQL` on a frame of player rows (match_id, team, minutes, price, expected_goals, threat)."""
    import duckdb

    with duckdb.connect() as connection:
        connection.register("players", players)
        return connection.execute(TEAM_STATS_SQL.format(table="players")).df()


def team_match_log(matches: pd.DataFrame, stats: pd.DataFrame | None) -> pd.DataFrame:
    """One row per team per played match: result, goals, expected goals, threat and the fielded XI's FPL value.

    `stats` is `TEAM_STATS_SQL`'s result on the players' rows (`team_stats`); None when there are none.
    """
    matches = matches[matches["home_goals"].notna()]
    home = pd.DataFrame(
        {
            "match_id": matches["match_id"],
            "kickoff": matches["kickoff"],
            "team": matches["home_team"],
            "goals_for": matches["home_goals"],
            "goals_against": matches["away_goals"],
        }
    )
    away = pd.DataFrame(
        {
            "match_id": matches["match_id"],
            "kickoff": matches["kickoff"],
            "team": matches["away_team"],
            "goals_for": matches["away_goals"],
            "goals_against": matches["home_goals"],
        }
    )
    log = pd.concat([home, away], ignore_index=True)
    log["points"] = np.where(log["goals_for"] > log["goals_against"], 3, np.where(log["goals_for"] == log["goals_against"], 1, 0))
    if stats is not None and len(stats):
        stats = stats[["match_id", "team", *TEAM_PLAYER_STATS]]
        opponent = stats[["match_id", "team", "xg_for", "threat_for"]].rename(
            columns={"team": "opponent", "xg_for": "xg_against", "threat_for": "threat_against"}
        )
        log = log.merge(stats, on=["match_id", "team"], how="left")
        sides = pd.concat(
            [
                matches[["match_id", "home_team", "away_team"]].rename(columns={"home_team": "team", "away_team": "opponent"}),
                matches[["match_id", "away_team", "home_team"]].rename(columns={"away_team": "team", "home_team": "opponent"}),
            ]
        )
        log = log.merge(sides, on=["match_id", "team"], how="left").merge(opponent, on=["match_id", "opponent"], how="left")
        log = log.drop(columns=["opponent"])
    else:
        for column in ("xg_for", "xg_against", "lineup_value", *THREAT_STATS):
            log[column] = np.nan
    return log.sort_values(["team", "kickoff"]).reset_index(drop=True)


def rolling_team_form(log: pd.DataFrame, window: int = FORM_WINDOW) -> pd.DataFrame:
    """Per team and match, up to and including that one: the mean of the last `window` matches, and the
    exponentially weighted threat (NaN until a team has 3 matches with threat)."""
    teams = log.groupby("team")
    rolled = teams[TEAM_STATS].rolling(window, min_periods=1).mean().reset_index(level=0, drop=True).add_suffix(f"_{window}")
    weighted = teams[THREAT_STATS].transform(lambda s: s.ewm(span=THREAT_SPAN, min_periods=3).mean()).add_suffix("_ewm")
    out = pd.concat([log[["team", "kickoff"]], rolled, weighted], axis=1)
    out["previous_kickoff"] = out["kickoff"]
    return out


def form_as_of(form: pd.DataFrame, teams: pd.Series, cutoffs: pd.Series) -> pd.DataFrame:
    """Each team's rolling form from its last match strictly before the cutoff."""
    query = pd.DataFrame(
        {"team": teams.to_numpy(), "cutoff": pd.to_datetime(cutoffs.to_numpy(), utc=True), "_order": np.arange(len(teams))}
    )
    result = pd.merge_asof(
        query.sort_values("cutoff"),
        form.sort_values("kickoff").drop(columns=["kickoff"]).rename(columns={"previous_kickoff": "last_match"}),
        left_on="cutoff",
        right_on="last_match",
        by="team",
        allow_exact_matches=False,
        direction="backward",
    )
    return result.sort_values("_order").drop(columns=["_order", "team", "cutoff"]).reset_index(drop=True)


def market_probabilities(odds: pd.DataFrame) -> pd.DataFrame:
    """De-margined 1X2 probabilities: Pinnacle closing, else average closing, else average pre-match."""
    chosen = pd.DataFrame(index=odds.index, columns=["market_p_home", "market_p_draw", "market_p_away"], dtype=float)
    chosen["market_source"] = None
    for prefix in ("PSC", "AvgC", "Avg", "BbAv", "PS", "B365"):
        columns = [f"{prefix}{side}" for side in "HDA"]
        if not set(columns) <= set(odds.columns):
            continue
        todo = chosen["market_p_home"].isna() & odds[columns].notna().all(axis=1)
        if todo.any():
            chosen.loc[todo, ["market_p_home", "market_p_draw", "market_p_away"]] = demargin(odds.loc[todo, columns].to_numpy())
            chosen.loc[todo, "market_source"] = prefix
    return chosen


def build_match_features(
    matches: pd.DataFrame,
    players: pd.DataFrame | None = None,
    odds: pd.DataFrame | None = None,
    *,
    team_ratings: pd.DataFrame | None = None,
    stats: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per match with every feature as of its gameweek's first kickoff.

    The players' rows count through `team_stats`; `stats` gives those per-team figures directly instead.
    """
    matches = matches.assign(kickoff=utc(matches["kickoff"])).sort_values(["kickoff", "match_id"]).reset_index(drop=True)
    ratings = team_ratings if team_ratings is not None else build_team_ratings(matches)
    plan = rounds(matches)
    frame = matches.merge(plan, on=["season", "gameweek"]).merge(ratings, on="match_id", how="inner", suffixes=("", "_r"))
    frame = frame.drop(columns=[c for c in frame.columns if c.endswith("_r")])
    if stats is None and players is not None:
        stats = team_stats(players)
    form = rolling_team_form(team_match_log(matches, stats))
    for side in ("home", "away"):
        as_of = form_as_of(form, frame[f"{side}_team"], frame["cutoff"])
        last = pd.to_datetime(as_of.pop("last_match"), utc=True)
        # capped: after the summer break (or years away from the league) more rest means nothing more
        frame[f"{side}_rest_days"] = ((frame["kickoff"] - last).dt.total_seconds() / 86400).clip(upper=MAX_REST_DAYS)
        for column in as_of.columns:
            frame[f"{side}_{column}"] = as_of[column].to_numpy()
    for stat in TEAM_STATS:
        frame[f"diff_{stat}_{FORM_WINDOW}"] = frame[f"home_{stat}_{FORM_WINDOW}"] - frame[f"away_{stat}_{FORM_WINDOW}"]
    frame["diff_threat_ewm"] = (frame["home_threat_for_ewm"] - frame["home_threat_against_ewm"]) - (
        frame["away_threat_for_ewm"] - frame["away_threat_against_ewm"]
    )
    frame["elo_diff"] = frame["elo_home"] - frame["elo_away"]
    frame["dc_log_home_away"] = np.log(frame["dc_p_home"] / frame["dc_p_away"])
    frame["dc_log_draw"] = np.log(frame["dc_p_draw"] / (1 - frame["dc_p_draw"]))
    if odds is not None and len(odds):
        wide = pd.DataFrame(list(odds["odds"].map(dict)), index=odds.index)
        market = market_probabilities(wide)
        market["match_id"] = odds["match_id"].to_numpy()
        frame = frame.merge(market, on="match_id", how="left")
    else:
        for column in ("market_p_home", "market_p_draw", "market_p_away"):
            frame[column] = np.nan
        frame["market_source"] = None
    return frame


def build_team_ratings(
    matches: pd.DataFrame,
    *,
    xi: float = XI,
    window_days: int = 3 * 365,
    ridge: float = 5.0,
    seasons: list[str] | None = None,
) -> pd.DataFrame:
    """Dixon-Coles strengths and probabilities plus Elo ratings, as of every gameweek's first kickoff.

    `seasons` limits the output (and the Dixon-Coles refits) to those seasons; every match still counts
    as history. Walk-forward means a season's ratings depend only on matches before its rounds, and each
    season's first refit starts cold, so recomputing from the first season whose inputs changed gives
    exactly the rows recomputing all would.
    """
    dc = walk_forward_dixon_coles(matches, xi=xi, window_days=window_days, ridge=ridge, seasons=seasons)
    elo = Elo().walk_forward(matches)
    return dc.merge(elo, on="match_id", how="inner")


def season_digests(matches: pd.DataFrame) -> dict[str, str]:
    """Per season, a digest of what the ratings are computed from (keys, rounds, kickoffs, results)."""
    import hashlib

    out = {}
    for season, rows in matches.groupby("season"):
        rows = rows.sort_values("match_id")
        text = "\n".join(
            f"{m}|{g}|{k}|{h}|{a}"
            for m, g, k, h, a in zip(
                rows["match_id"], rows["gameweek"], utc(rows["kickoff"]), rows["home_goals"], rows["away_goals"], strict=True
            )
        )
        out[str(season)] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return out


def frame_digests(frame: pd.DataFrame, by: str = "season") -> dict[str, str]:
    """Per value of `by`, an order-independent digest of the rows (row hashes summed, plus the count)."""
    import numpy as np

    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    out = {}
    for key, positions in frame.groupby(by, sort=True).indices.items():
        total = int(np.sum(hashes[positions], dtype=np.uint64))
        out[str(key)] = f"{total:016x}{len(positions):x}"
    return out


def round_digests(read, *sqls: str) -> dict[str, str]:
    """Per round ("<season>:<gameweek>"), a digest of the queries' rows, computed in the database: each query's
    row hashes (DuckDB's `hash`) summed, plus the count, after the round's first instant (its rows' earliest
    kickoff or cutoff): "<first instant>|<digest>|<digest>…" ("-" where a query has no rows for the round).

    Each query needs season and gameweek columns, and kickoff or cutoff. `read(sql)` returns a DataFrame (e.g.
    `Warehouse.read`); only one row per round and query leaves DuckDB.
    """
    found = []
    for sql in sqls:
        columns = read(f"DESCRIBE {sql}")["column_name"].tolist()
        row_hash = "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"
        first = "least(" + ", ".join(c for c in ("kickoff", "cutoff") if c in columns) + ")"
        found.append(
            read(
                f"SELECT season || ':' || lpad(gameweek::VARCHAR, 2, '0') AS round, min({first}) AS first,"
                f" sum({row_hash})::VARCHAR || '/' || count(*) AS digest FROM ({sql}) GROUP BY season, gameweek"
            ).set_index("round")
        )
    rounds = sorted(set().union(*(part.index for part in found)))
    firsts = pd.concat([utc(part["first"]) for part in found]).groupby(level=0).min()
    return {key: "|".join([firsts[key].isoformat(), *(part["digest"].get(key, "-") for part in found)]) for key in rounds}


def round_key(key: str) -> tuple[str, int]:
    """A `round_digests` key ("2025-26:07") as (season, gameweek)."""
    season, gameweek = key.split(":")
    return season, int(gameweek)


def _first_instant(digest: str) -> pd.Timestamp:
    """The round's first instant recorded in a `round_digests` digest."""
    return pd.Timestamp(digest.split("|")[0])


def rounds_to_rebuild(current: dict[str, str], previous: dict[str, str]) -> tuple[list[str], list[str], pd.Timestamp | None]:
    """Which rounds a walk-forward table rebuilds, from this run's and the last run's `round_digests`.

    Returns the rounds to rebuild, the rounds gone from every input (their rows are deleted) and the first
    instant of the earliest changed round (None for a full rebuild or when nothing changed). A row depends only
    on its own round's inputs and on rows before its cutoff, so every round from the earliest changed one on
    is rebuilt (for a changed round, the earlier of its two first instants counts). Without usable previous
    digests (none, or the per-season ones of an earlier release) everything is rebuilt.
    """
    if not previous or not all(":" in key for key in previous):
        return sorted(current), [], None
    changed = [key for key in set(current) | set(previous) if current.get(key) != previous.get(key)]
    since = min(
        (_first_instant(digests[key]) for key in changed for digests in (current, previous) if key in digests), default=None
    )
    rebuilt = [] if since is None else [key for key in sorted(current) if _first_instant(current[key]) >= since]
    return rebuilt, sorted(key for key in previous if key not in current), since


def first_changed_season(current: dict[str, str], previous: dict[str, str]) -> str | None:
    """The earliest season whose digest differs (or is new or gone); None when nothing changed."""
    changed = sorted(s for s in set(current) | set(previous) if current.get(s) != previous.get(s))
    return changed[0] if changed else None


MODEL_FEATURES = [
    "dc_p_home",
    "dc_p_draw",
    "dc_p_away",
    "dc_home_xg",
    "dc_away_xg",
    "elo_diff",
    "elo_expected_home",
    "home_points_5",
    "away_points_5",
    "diff_goals_for_5",
    "diff_goals_against_5",
    "home_xg_for_5",
    "home_xg_against_5",
    "away_xg_for_5",
    "away_xg_against_5",
    "home_lineup_value_5",
    "away_lineup_value_5",
    "diff_lineup_value_5",
    "home_rest_days",
    "away_rest_days",
    "home_threat_for_ewm",
    "home_threat_against_ewm",
    "away_threat_for_ewm",
    "away_threat_against_ewm",
    "diff_threat_ewm",
]
MARKET_FEATURES = ["market_p_home", "market_p_draw", "market_p_away"]
