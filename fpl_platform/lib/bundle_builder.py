"""Build the bundled data snapshot in data/ from the data files inside the airsenal==1.17.0 wheel.

Run it with `fpl-platform build-data --wheel airsenal-1.17.0-py3-none-any.whl` (see data/PROVENANCE.md).
The wheel's files are messy: numbers arrive as strings, booleans as 'True'/'False', kickoffs as
several string formats, 2019-20 gameweeks after the Covid break are numbered 39-47, 2014-15 has no
gameweek at all, 2015-16 player rows lack their team, side and kickoff, and 2025-26 player rows lack
their side. This module types all of it and recovers what is missing from the results files, so the
Parquet files in data/ are typed and complete. Team names are kept as the source spells them; the
ingestion assets resolve them against the canonical team table.
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
import zipfile
from collections import defaultdict
from pathlib import Path

import pandas as pd

from fpl_platform.lib.seasons import from_short_code

WHEEL_NAME = "airsenal-1.17.0-py3-none-any.whl"
WHEEL_DATA_PREFIX = "airsenal/data/"
RESULT_SEASONS = ["1415", "1516", "1617", "1718", "1819", "1920", "2021", "2122", "2223", "2324", "2425", "2526"]
PLAYER_SEASONS = RESULT_SEASONS[1:]
BOOTSTRAP_SEASONS = RESULT_SEASONS[3:]
FIXTURE_SEASONS = RESULT_SEASONS[5:]
TEAM_LIST_SEASONS = [*RESULT_SEASONS[1:], "2627"]
FIFA_SEASONS = [*RESULT_SEASONS[3:], "2627"]
# element_type 5 is the 2024-25 "assistant manager" chip
POSITIONS = {
    1: "GK",
    2: "DEF",
    3: "MID",
    4: "FWD",
    5: "AM",
    "GKP": "GK",
    "AM": "AM",
    "GK": "GK",
    "DEF": "DEF",
    "MID": "MID",
    "FWD": "FWD",
}

# statistics columns of a player-gameweek row, with their type after parsing
INT_STATS = [
    "minutes",
    "points",
    "goals",
    "assists",
    "clean_sheets",
    "goals_conceded",
    "own_goals",
    "penalties_saved",
    "penalties_missed",
    "yellow_cards",
    "red_cards",
    "saves",
    "bonus",
    "bps",
    "starts",
    "selected",
    "transfers_in",
    "transfers_out",
    "transfers_balance",
]
FLOAT_STATS = [
    "influence",
    "creativity",
    "threat",
    "ict_index",
    "expected_goals",
    "expected_assists",
    "expected_goal_involvements",
    "expected_goals_conceded",
]
_RENAMES = {"conceded": "goals_conceded"}


class WheelData:
    """Reads files from airsenal/data/ inside the wheel without installing it."""

    def __init__(self, wheel: Path):
        self.wheel = Path(wheel)
        self._zip = zipfile.ZipFile(self.wheel)

    def names(self) -> list[str]:
        return [n[len(WHEEL_DATA_PREFIX) :] for n in self._zip.namelist() if n.startswith(WHEEL_DATA_PREFIX)]

    def bytes(self, name: str) -> bytes:
        return self._zip.read(WHEEL_DATA_PREFIX + name)

    def json(self, name: str):
        return json.loads(self.bytes(name).decode("utf-8"))

    def csv(self, name: str, **kwargs) -> pd.DataFrame:
        return pd.read_csv(io.BytesIO(self.bytes(name)), encoding="utf-8-sig", **kwargs)


def _utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="mixed")


def build_matches(wheel: WheelData) -> pd.DataFrame:
    """One typed row per match, 2014-15 … 2025-26, with gameweek 1-38 and a UTC kickoff."""
    frames = []
    for code in RESULT_SEASONS:
        raw = wheel.csv(f"results_{code}.csv", dtype=str)
        frame = pd.DataFrame(
            {
                "season": from_short_code(code),
                "kickoff": _utc(raw["date"]),
                "home_team": raw["home_team"].str.strip(),
                "away_team": raw["away_team"].str.strip(),
                "home_goals": raw["home_score"].astype(int),
                "away_goals": raw["away_score"].astype(int),
                "source_file": f"results_{code}.csv",
            }
        )
        # the older files carry a date only ("2015-05-24 00:00:00" or "2019-05-12")
        frame["kickoff_has_time"] = raw["date"].str.contains("T")
        if "gameweek" in raw:
            gameweek = raw["gameweek"].astype(int)
            if code == "1920":
                # FPL numbered the rounds after the 2020 Covid break 39-47; they are rounds 30-38
                gameweek = gameweek.where(gameweek <= 38, gameweek - 9)
            frame["gameweek"] = gameweek
            frame["gameweek_derived"] = False
        else:
            frame["gameweek"] = derive_gameweeks(frame)
            frame["gameweek_derived"] = True
        frames.append(frame)
    matches = pd.concat(frames, ignore_index=True)
    matches = _recover_kickoff_times(matches, wheel)
    return matches.sort_values(["season", "kickoff", "home_team"]).reset_index(drop=True)[
        [
            "season",
            "gameweek",
            "kickoff",
            "kickoff_has_time",
            "home_team",
            "away_team",
            "home_goals",
            "away_goals",
            "gameweek_derived",
            "source_file",
        ]
    ]


def derive_gameweeks(frame: pd.DataFrame) -> pd.Series:
    """Gameweek for a season without one: the later of the two teams' match numbers, in date order.

    A postponed match keeps the round in which it was played, as FPL does.
    """
    ordered = frame.sort_values(["kickoff", "home_team"])
    played: dict[str, int] = defaultdict(int)
    gameweek = {}
    for index, row in ordered.iterrows():
        played[row.home_team] += 1
        played[row.away_team] += 1
        gameweek[index] = min(38, max(played[row.home_team], played[row.away_team]))
    return pd.Series(gameweek).reindex(frame.index).astype(int)


def _team_codes(wheel: WheelData) -> pd.DataFrame:
    """Per season: FPL three-letter code and the full name used in that season's files."""
    frames = [wheel.csv(f"teams_{code}.csv", dtype=str) for code in TEAM_LIST_SEASONS]
    teams = pd.concat(frames, ignore_index=True)
    teams["season"] = teams["season"].map(from_short_code)
    return teams.rename(columns={"name": "code", "team_id": "fpl_team_id"})[["season", "fpl_team_id", "code", "full_name"]]


def _recover_kickoff_times(matches: pd.DataFrame, wheel: WheelData) -> pd.DataFrame:
    """2016-17 … 2018-19 results carry dates only; the player files carry the real kickoff times."""
    from fpl_platform.lib.teams import canonical_name

    times = {}
    for code in ["1617", "1718", "1819"]:
        teams = wheel.csv(f"teams_{code}.csv", dtype=str)
        full = dict(zip(teams["name"], teams["full_name"], strict=True))
        for rows in wheel.json(f"player_details_{code}.json").values():
            for row in rows:
                if str(row.get("was_home")) != "True":
                    continue
                home = canonical_name(full[row["played_for"]], "teams")
                away = canonical_name(full[row["opponent"]], "teams")
                times[(from_short_code(code), home, away)] = row["kickoff_time"]
    keys = [
        (s, canonical_name(h, "results"), canonical_name(a, "results"))
        for s, h, a in zip(matches["season"], matches["home_team"], matches["away_team"], strict=True)
    ]
    recovered = pd.Series([times.get(k) for k in keys], index=matches.index)
    use = recovered.notna() & ~matches["kickoff_has_time"]
    matches.loc[use, "kickoff"] = _utc(recovered[use])
    matches.loc[use, "kickoff_has_time"] = True
    return matches


def _name_key(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _player_directory(wheel: WheelData) -> tuple[pd.DataFrame, dict[str, set[int]], dict[tuple[str, str], list]]:
    """FPL elements of every bootstrap dump, plus name -> codes lookups for id matching."""
    alternatives = {_name_key(k): v for k, v in wheel.json("alternative_player_names.json").items()}
    elements = []
    for code in BOOTSTRAP_SEASONS:
        boot = wheel.json(f"FPL_{code}.json")
        for e in boot["elements"]:
            elements.append(
                {
                    "season": from_short_code(code),
                    "element_id": int(e["id"]),
                    "player_code": int(e["code"]),
                    "first_name": e["first_name"],
                    "second_name": e["second_name"],
                    "web_name": e["web_name"],
                    "fpl_team_id": int(e["team"]),
                    "position": POSITIONS[int(e["element_type"])],
                    "now_cost": int(e["now_cost"]),
                    "status": e.get("status"),
                }
            )
    elements = pd.DataFrame(elements)
    by_name: dict[str, set[int]] = defaultdict(set)
    by_season_name: dict[tuple[str, str], list] = defaultdict(list)
    for row in elements.itertuples():
        full_name = f"{row.first_name} {row.second_name}"
        names = {full_name, *alternatives.get(_name_key(full_name), [])}
        for name in names:
            by_name[_name_key(name)].add(row.player_code)
            by_season_name[(row.season, _name_key(name))].append(row)
    return elements, by_name, by_season_name


def build_player_gameweeks(wheel: WheelData, matches: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Typed player-gameweek rows 2015-16 … 2025-26 and the FPL elements directory."""
    elements, by_name, by_season_name = _player_directory(wheel)
    team_codes = _team_codes(wheel)
    frames = []
    for code in PLAYER_SEASONS:
        season = from_short_code(code)
        details = wheel.json(f"player_details_{code}.json")
        summary = {}
        if code == "1516":
            summary = {s["name"]: s for s in wheel.json("player_summary_1516.json")}
        rows = []
        for key, history in details.items():
            for item in history:
                row = {"season": season, "source_key": key}
                for field, value in item.items():
                    row[_RENAMES.get(field, field)] = value
                if code == "1516":
                    # in 2015-16 the field called bonus holds the bonus points system score
                    row["bps"] = row.pop("bonus", None)
                    row["position"] = summary.get(key, {}).get("position")
                    row["summary_team"] = summary.get(key, {}).get("team")
                rows.append(row)
        frame = pd.DataFrame(rows)
        frame = _type_player_frame(frame)
        frame = _attach_matches(frame, matches, team_codes, season)
        team_ids = team_codes[team_codes["season"] == season]
        code_of_team_id = dict(zip(team_ids["fpl_team_id"].astype(int), team_ids["code"], strict=True))
        frame = _attach_player_codes(frame, season, elements, by_name, by_season_name, code_of_team_id)
        frames.append(frame)
    players = pd.concat(frames, ignore_index=True)
    # airsenal lists a few players twice under two spellings (2023-24: "Max Kinsey" and
    # "Max Kinsey-Wellings", both FPL code 496683): keep one row per player per match
    coded = players["player_code"].notna()
    twice = coded & players.duplicated(["player_code", "match_index"], keep="first")
    players = players[~twice].reset_index(drop=True)
    return players, elements


def correct_match_gameweeks(matches: pd.DataFrame, players: pd.DataFrame) -> pd.DataFrame:
    """Where the results file's gameweek disagrees with the FPL player rows of that match, FPL wins.

    2015-16's results file numbers some rearranged matches by their original round (West Ham v
    Swansea, played 7 May 2016, is labelled 17 there and 37 in FPL).
    """
    fpl_gameweek = players.groupby("match_index")["gameweek"].agg(lambda g: g.mode().iat[0])
    matches = matches.copy()
    disagree = fpl_gameweek[fpl_gameweek != matches.loc[fpl_gameweek.index, "gameweek"]]
    matches.loc[disagree.index, "gameweek"] = disagree.values
    return matches


def _type_player_frame(frame: pd.DataFrame) -> pd.DataFrame:
    for column in INT_STATS:
        frame[column] = pd.to_numeric(frame[column], errors="raise").astype("Int64") if column in frame else pd.NA
        frame[column] = frame[column].astype("Int64")
    for column in FLOAT_STATS:
        frame[column] = pd.to_numeric(frame[column], errors="raise") if column in frame else float("nan")
        frame[column] = frame[column].astype("float64")
    frame["gameweek"] = frame["gameweek"].astype(int)
    if frame["season"].iat[0] == "2019-20":
        frame["gameweek"] = frame["gameweek"].where(frame["gameweek"] <= 38, frame["gameweek"] - 9)
    frame["price"] = pd.to_numeric(frame["value"], errors="raise") / 10 if "value" in frame else float("nan")
    if "was_home" in frame:
        frame["was_home"] = frame["was_home"].map({"True": True, "False": False, True: True, False: False})
    else:
        frame["was_home"] = pd.NA
    frame["kickoff"] = _utc(frame["kickoff_time"]) if "kickoff_time" in frame else pd.NaT
    frame["position"] = frame["position"].map(POSITIONS)
    for column in ["played_for", "summary_team"]:
        if column not in frame:
            frame[column] = None
    return frame


def _attach_matches(frame: pd.DataFrame, matches: pd.DataFrame, team_codes: pd.DataFrame, season: str):
    """Find each row's match in the results: fills team, side and kickoff where the source lacks them."""
    from fpl_platform.lib.teams import canonical_name

    codes = team_codes[team_codes["season"] == season]
    code_to_team = {c: canonical_name(n, "teams") for c, n in zip(codes["code"], codes["full_name"], strict=True)}
    season_matches = matches[matches["season"] == season]
    fixtures = defaultdict(list)
    for m in season_matches.itertuples():
        home, away = canonical_name(m.home_team, "results"), canonical_name(m.away_team, "results")
        fixtures[home].append((m, home, away))
        fixtures[away].append((m, home, away))
    # a gameweek's typical date: ties between the two legs of a fixture go to the leg nearer to it
    gameweek_date = season_matches.groupby("gameweek")["kickoff"].median().to_dict()
    resolved = []
    for row in frame.itertuples():
        opponent = code_to_team[row.opponent]
        own = code_to_team[row.played_for] if isinstance(row.played_for, str) else None
        candidates = [c for c in fixtures[opponent] if own is None or own in (c[1], c[2])]
        if isinstance(row.was_home, bool):
            candidates = [c for c in candidates if (c[1] == own) == row.was_home]
        if len(candidates) > 1 and pd.notna(row.kickoff):
            candidates = [c for c in candidates if abs((c[0].kickoff - row.kickoff).total_seconds()) < 3 * 86400]
        same_round = [c for c in candidates if c[0].gameweek == row.gameweek]
        if len(candidates) > 1 and same_round:
            candidates = same_round
        if len(candidates) > 1 and isinstance(row.summary_team, str):
            summary_team = code_to_team[row.summary_team]
            candidates = [c for c in candidates if summary_team in (c[1], c[2])] or candidates
        if len(candidates) > 1:
            target = gameweek_date[row.gameweek]
            candidates = [min(candidates, key=lambda c, t=target: abs((c[0].kickoff - t).total_seconds()))]
        if len(candidates) != 1:
            raise ValueError(f"{season}: cannot place {row.source_key} gw {row.gameweek} v {row.opponent}")
        match, home, away = candidates[0]
        own_team = away if home == opponent else home
        resolved.append(
            {
                "team_name": own_team,
                "opponent_name": opponent,
                "was_home_resolved": own_team == home,
                "match_index": match.Index,
                "match_kickoff": match.kickoff,
                "home_team_name": home,
                "away_team_name": away,
            }
        )
    resolved = pd.DataFrame(resolved, index=frame.index)
    frame = pd.concat([frame, resolved], axis=1)
    frame["was_home"] = frame["was_home_resolved"]
    frame["kickoff"] = (
        frame["kickoff"].fillna(frame["match_kickoff"]) if frame["kickoff"].notna().any() else frame["match_kickoff"]
    )
    return frame


def _attach_player_codes(frame, season, elements, by_name, by_season_name, code_of_team_id):
    """The FPL `code` (stable across seasons) for each row where the data allows it."""
    season_elements = elements[elements["season"] == season]
    by_opta = {f"p{c}": c for c in season_elements["player_code"]}
    names_by_code = {r.player_code: f"{r.first_name} {r.second_name}" for r in elements.itertuples()}
    cache = {}
    codes, names = [], []
    for row in frame.itertuples():
        key = row.source_key
        if key not in cache:
            code = by_opta.get(key)
            if code is None:
                candidates = by_season_name.get((season, _name_key(key)), [])
                distinct = {c.player_code for c in candidates}
                if len(distinct) > 1:
                    # two players share a name this season: the one whose FPL team is the row's team
                    distinct = {c.player_code for c in candidates if code_of_team_id.get(c.fpl_team_id) == row.played_for}
                if len(distinct) == 1:
                    code = distinct.pop()
                elif not candidates and len(by_name.get(_name_key(key), ())) == 1:
                    code = next(iter(by_name[_name_key(key)]))
            cache[key] = code
        code = cache[key]
        codes.append(code)
        names.append(names_by_code.get(code, key) if key.startswith("p") and code else key)
    frame["player_code"] = pd.array(codes, dtype="Int64")
    frame["player_name"] = names
    return frame


PLAYER_COLUMNS = [
    "season",
    "gameweek",
    "kickoff",
    "player_code",
    "player_name",
    "source_key",
    "position",
    "team_name",
    "opponent_name",
    "was_home",
    "home_team_name",
    "away_team_name",
    *INT_STATS,
    *FLOAT_STATS,
    "price",
]


def build_fixtures(wheel: WheelData, teams: pd.DataFrame) -> pd.DataFrame:
    """FPL fixtures endpoint dumps 2019-20 … 2025-26, typed, with team codes instead of ids."""
    rows = []
    for code in FIXTURE_SEASONS:
        season = from_short_code(code)
        names = teams[teams["season"] == season].set_index("fpl_team_id")["full_name"].to_dict()
        for f in wheel.json(f"fixture_data_{code}.json"):
            event = f.get("event")
            if event is not None and code == "1920" and int(event) > 38:
                event = int(event) - 9
            rows.append(
                {
                    "season": season,
                    "fpl_fixture_id": int(f["id"]),
                    "gameweek": None if event is None else int(event),
                    "kickoff": f.get("kickoff_time"),
                    "home_team": names[str(f["team_h"])],
                    "away_team": names[str(f["team_a"])],
                    "fpl_home_team_id": int(f["team_h"]),
                    "fpl_away_team_id": int(f["team_a"]),
                    "home_goals": f.get("team_h_score"),
                    "away_goals": f.get("team_a_score"),
                    "home_difficulty": f.get("team_h_difficulty"),
                    "away_difficulty": f.get("team_a_difficulty"),
                    "finished": bool(f.get("finished")),
                }
            )
    fixtures = pd.DataFrame(rows)
    fixtures["kickoff"] = _utc(fixtures["kickoff"])
    for column in ["gameweek", "home_goals", "away_goals", "home_difficulty", "away_difficulty"]:
        fixtures[column] = fixtures[column].astype("Int64")
    return fixtures


def build_fpl_teams(wheel: WheelData) -> pd.DataFrame:
    """Per season: the FPL team list (id, code, name) with FPL's strength ratings where dumped."""
    teams = _team_codes(wheel)
    strengths = []
    for code in BOOTSTRAP_SEASONS:
        for t in wheel.json(f"FPL_{code}.json")["teams"]:
            strengths.append(
                {
                    "season": from_short_code(code),
                    "fpl_team_id": str(t["id"]),
                    "strength": t.get("strength"),
                    **{k: t.get(k) for k in STRENGTH_FIELDS},
                }
            )
    teams = teams.merge(pd.DataFrame(strengths), on=["season", "fpl_team_id"], how="left")
    for column in ["strength", *STRENGTH_FIELDS]:
        teams[column] = teams[column].astype("Int64")
    return teams


STRENGTH_FIELDS = [
    "strength_overall_home",
    "strength_overall_away",
    "strength_attack_home",
    "strength_attack_away",
    "strength_defence_home",
    "strength_defence_away",
]


def build_fpl_events(wheel: WheelData) -> pd.DataFrame:
    """Gameweek deadlines from the bootstrap dumps."""
    rows = []
    for code in BOOTSTRAP_SEASONS:
        for e in wheel.json(f"FPL_{code}.json")["events"]:
            rows.append(
                {
                    "season": from_short_code(code),
                    "gameweek": int(e["id"]),
                    "name": e["name"],
                    "deadline": e["deadline_time"],
                    "finished": bool(e.get("finished")),
                }
            )
    events = pd.DataFrame(rows)
    events["deadline"] = _utc(events["deadline"])
    return events


def build_fifa_ratings(wheel: WheelData) -> pd.DataFrame:
    """FIFA team ratings (attack, midfield, defence, overall) per season."""
    frames = []
    for code in FIFA_SEASONS:
        frame = wheel.csv(f"fifa_team_ratings_{code}.csv")
        frame.columns = [c.strip() for c in frame.columns]
        frame.insert(0, "season", from_short_code(code))
        frames.append(
            frame.rename(columns={"team_name": "team", "defn": "defence", "mid": "midfield", "att": "attack", "ovr": "overall"})
        )
    return pd.concat(frames, ignore_index=True)


def build_all(wheel_path: Path, out_dir: Path) -> dict[str, int]:
    """Write every bundled Parquet file into out_dir; returns row counts per file."""
    wheel = WheelData(wheel_path)
    matches = build_matches(wheel)
    players, elements = build_player_gameweeks(wheel, matches)
    matches = correct_match_gameweeks(matches, players)
    teams = build_fpl_teams(wheel)
    outputs = {
        "matches": matches,
        "player_gameweeks": players[PLAYER_COLUMNS],
        "fixtures": build_fixtures(wheel, teams),
        "fpl_teams": teams,
        "fpl_elements": elements,
        "fpl_events": build_fpl_events(wheel),
        "fifa_team_ratings": build_fifa_ratings(wheel),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, frame in outputs.items():
        frame.to_parquet(out_dir / f"{name}.parquet", index=False, compression="zstd", compression_level=19)
        counts[name] = len(frame)
    return counts
