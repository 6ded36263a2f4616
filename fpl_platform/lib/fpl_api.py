"""The live Fantasy Premier League API: bootstrap-static/, fixtures/, element-summary/<id>/.

`LiveFpl` fetches a season and turns it into the same frames as the bundled snapshot. `recorded_responses`
builds API-shaped responses from the bundled dumps, so tests (and anyone without network) can serve a
real season from a local HTTP server.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pandas as pd
import requests

from fpl_platform.lib import bundled, http, teams
from fpl_platform.lib.errors import DataValidationError
from fpl_platform.lib.paths import DEFAULT_FPL_API as DEFAULT_BASE
from fpl_platform.lib.seasons import season_of

POSITIONS = {1: "GK", 2: "DEF", 3: "MID", 4: "FWD", 5: "AM"}
HISTORY_FIELDS = {
    "total_points": "points",
    "goals_scored": "goals",
    "assists": "assists",
    "minutes": "minutes",
    "clean_sheets": "clean_sheets",
    "goals_conceded": "goals_conceded",
    "own_goals": "own_goals",
    "penalties_saved": "penalties_saved",
    "penalties_missed": "penalties_missed",
    "yellow_cards": "yellow_cards",
    "red_cards": "red_cards",
    "saves": "saves",
    "bonus": "bonus",
    "bps": "bps",
    "influence": "influence",
    "creativity": "creativity",
    "threat": "threat",
    "ict_index": "ict_index",
    "starts": "starts",
    "expected_goals": "expected_goals",
    "expected_assists": "expected_assists",
    "expected_goal_involvements": "expected_goal_involvements",
    "expected_goals_conceded": "expected_goals_conceded",
    "selected": "selected",
    "transfers_in": "transfers_in",
    "transfers_out": "transfers_out",
    "transfers_balance": "transfers_balance",
}


@dataclass
class LiveSeason:
    """What the live API says about the current season, in bundled-snapshot shapes."""

    season: str
    matches: pd.DataFrame
    fixtures: pd.DataFrame
    player_gameweeks: pd.DataFrame | None
    squad: pd.DataFrame | None = None


class LiveFpl:
    """Client for the FPL API at `base_url` with retries and backoff on every request."""

    def __init__(self, base_url: str = DEFAULT_BASE, *, retries: int = 4, backoff_seconds: float = 0.5, workers: int = 4):
        self.base_url = base_url.rstrip("/")
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self.workers = workers
        self._session = requests.Session()

    def _json(self, path: str):
        url = f"{self.base_url}/{path}"
        response = http.get(url, session=self._session, retries=self.retries, backoff_seconds=self.backoff_seconds)
        try:
            return response.json()
        except ValueError:
            raise DataValidationError(url, "response is not JSON") from None

    def bootstrap(self) -> dict:
        return self._json("bootstrap-static/")

    def fixtures(self) -> list[dict]:
        return self._json("fixtures/")

    def element_summary(self, element_id: int) -> dict:
        return self._json(f"element-summary/{element_id}/")

    def season(self, *, with_players: bool = True) -> LiveSeason:
        """Fetch the current season: finished matches, all fixtures and (optionally) every player's history."""
        boot = self.bootstrap()
        source = f"{self.base_url}/bootstrap-static/"
        events = boot.get("events") or []
        if not events:
            raise DataValidationError(source, "has no events; expected the season's gameweeks", field="events")
        season = season_of(pd.Timestamp(events[0]["deadline_time"]).to_pydatetime())
        team_names = {int(t["id"]): teams.canonical_name(t["name"], source) for t in boot["teams"]}
        fixtures = fixtures_frame(self.fixtures(), team_names, season, f"{self.base_url}/fixtures/")
        played = fixtures[fixtures["finished"] & fixtures["home_goals"].notna()]
        matches = pd.DataFrame(
            {
                "season": season,
                "gameweek": played["gameweek"].astype(int),
                "kickoff": played["kickoff"],
                "kickoff_has_time": True,
                "home_team": played["home_team"],
                "away_team": played["away_team"],
                "home_goals": played["home_goals"].astype(int),
                "away_goals": played["away_goals"].astype(int),
            }
        )
        players = None
        if with_players:
            elements = boot["elements"]
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                summaries = list(pool.map(lambda e: self.element_summary(int(e["id"])), elements))
            players = player_frame(elements, summaries, fixtures, season)
        squad = squad_frame(boot, fixtures, team_names, season)
        return LiveSeason(season, matches.reset_index(drop=True), fixtures, players, squad)


def squad_frame(boot: dict, fixtures: pd.DataFrame, team_names: dict[int, str], season: str) -> pd.DataFrame:
    """Every listed player × every fixture of his team in the next gameweek (the first with unfinished fixtures)."""
    upcoming = fixtures[~fixtures["finished"] & fixtures["gameweek"].notna()]
    if upcoming.empty:
        return pd.DataFrame()
    gameweek = int(upcoming["gameweek"].min())
    upcoming = upcoming[upcoming["gameweek"] == gameweek]
    total_players = boot.get("total_players") or 0
    rows = []
    for element in boot["elements"]:
        team = team_names.get(int(element["team"]))
        for fixture in upcoming.itertuples():
            if team not in (fixture.home_team, fixture.away_team):
                continue
            home = team == fixture.home_team
            selected_share = float(element.get("selected_by_percent") or "nan") / 100
            rows.append(
                {
                    "season": season,
                    "gameweek": gameweek,
                    "kickoff": fixture.kickoff,
                    "player_code": int(element["code"]),
                    "player_name": f"{element['first_name']} {element['second_name']}",
                    "position": POSITIONS.get(int(element["element_type"])),
                    "team_name": team,
                    "opponent_name": fixture.away_team if home else fixture.home_team,
                    "was_home": home,
                    "home_team_name": fixture.home_team,
                    "away_team_name": fixture.away_team,
                    "price": int(element["now_cost"]) / 10,
                    "selected": round(selected_share * total_players)
                    if total_players and selected_share == selected_share
                    else None,
                    "transfers_balance": (element.get("transfers_in_event") or 0) - (element.get("transfers_out_event") or 0),
                    "chance_of_playing": element.get("chance_of_playing_next_round"),
                    "status": element.get("status"),
                }
            )
    return pd.DataFrame(rows)


def fixtures_frame(raw: list[dict], team_names: dict[int, str], season: str, source: str) -> pd.DataFrame:
    """fixtures/ JSON -> typed frame with canonical team names."""
    rows = []
    for number, f in enumerate(raw):
        try:
            home, away = team_names[int(f["team_h"])], team_names[int(f["team_a"])]
        except KeyError as error:
            raise DataValidationError(
                source, f"team id {error.args[0]} is not in bootstrap-static teams", row=number, field="team_h/team_a"
            ) from None
        rows.append(
            {
                "season": season,
                "fpl_fixture_id": int(f["id"]),
                "gameweek": f.get("event"),
                "kickoff": f.get("kickoff_time"),
                "home_team": home,
                "away_team": away,
                "home_goals": f.get("team_h_score"),
                "away_goals": f.get("team_a_score"),
                "home_difficulty": f.get("team_h_difficulty"),
                "away_difficulty": f.get("team_a_difficulty"),
                "finished": bool(f.get("finished")),
            }
        )
    frame = pd.DataFrame(rows)
    frame["kickoff"] = pd.to_datetime(frame["kickoff"], utc=True)
    for column in ["gameweek", "home_goals", "away_goals", "home_difficulty", "away_difficulty"]:
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    return frame


def player_frame(elements: list[dict], summaries: list[dict], fixtures: pd.DataFrame, season: str) -> pd.DataFrame:
    """element-summary histories -> player-gameweek rows in the bundled snapshot's shape."""
    by_fixture = fixtures.set_index("fpl_fixture_id")
    rows = []
    for element, summary in zip(elements, summaries, strict=True):
        for item in summary.get("history", []):
            fixture = by_fixture.loc[int(item["fixture"])]
            home = bool(item["was_home"])
            row = {
                "season": season,
                "gameweek": int(item["round"]),
                "kickoff": item["kickoff_time"],
                "player_code": int(element["code"]),
                "player_name": f"{element['first_name']} {element['second_name']}",
                "position": POSITIONS.get(int(element["element_type"])),
                "team_name": fixture["home_team"] if home else fixture["away_team"],
                "opponent_name": fixture["away_team"] if home else fixture["home_team"],
                "was_home": home,
                "home_team_name": fixture["home_team"],
                "away_team_name": fixture["away_team"],
                "price": int(item["value"]) / 10 if item.get("value") is not None else None,
            }
            for api_name, name in HISTORY_FIELDS.items():
                row[name] = item.get(api_name)
            rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["kickoff"] = pd.to_datetime(frame["kickoff"], utc=True)
    for name in HISTORY_FIELDS.values():
        frame[name] = pd.to_numeric(frame[name])
    return frame


def recorded_responses(data_dir, season: str) -> dict[str, object]:
    """API-shaped responses for one bundled season: {'bootstrap-static/': ..., 'fixtures/': ..., 'element-summary/1/': ...}."""
    fpl_teams = bundled.read(data_dir, "fpl_teams", season)
    elements = bundled.read(data_dir, "fpl_elements", season)
    events = bundled.read(data_dir, "fpl_events", season)
    fixtures = bundled.read(data_dir, "fixtures", season)
    players = bundled.read(data_dir, "player_gameweeks", season)
    team_ids = {
        teams.canonical_name(n, "bundled"): int(i) for i, n in zip(fpl_teams["fpl_team_id"], fpl_teams["full_name"], strict=True)
    }
    position_ids = {v: k for k, v in POSITIONS.items()}
    responses: dict[str, object] = {
        "bootstrap-static/": {
            "events": [
                {
                    "id": int(e.gameweek),
                    "name": e.name,
                    "deadline_time": e.deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "finished": bool(e.finished),
                }
                for e in events.itertuples()
            ],
            "teams": [{"id": int(t.fpl_team_id), "name": t.full_name, "short_name": t.code} for t in fpl_teams.itertuples()],
            "elements": [
                {
                    "id": int(e.element_id),
                    "code": int(e.player_code),
                    "first_name": e.first_name,
                    "second_name": e.second_name,
                    "web_name": e.web_name,
                    "team": int(e.fpl_team_id),
                    "element_type": position_ids.get(e.position, 3),
                    "now_cost": int(e.now_cost),
                }
                for e in elements.itertuples()
            ],
        },
        "fixtures/": [
            {
                "id": int(f.fpl_fixture_id),
                "event": None if pd.isna(f.gameweek) else int(f.gameweek),
                "kickoff_time": None if pd.isna(f.kickoff) else f.kickoff.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "team_h": int(f.fpl_home_team_id),
                "team_a": int(f.fpl_away_team_id),
                "team_h_score": None if pd.isna(f.home_goals) else int(f.home_goals),
                "team_a_score": None if pd.isna(f.away_goals) else int(f.away_goals),
                "team_h_difficulty": None if pd.isna(f.home_difficulty) else int(f.home_difficulty),
                "team_a_difficulty": None if pd.isna(f.away_difficulty) else int(f.away_difficulty),
                "finished": bool(f.finished),
            }
            for f in fixtures.itertuples()
        ],
    }
    fixture_ids = {
        (teams.canonical_name(f.home_team, "bundled"), teams.canonical_name(f.away_team, "bundled")): int(f.fpl_fixture_id)
        for f in fixtures.itertuples()
    }
    reverse = {v: k for k, v in HISTORY_FIELDS.items()}
    histories: dict[int, list] = {int(e): [] for e in elements["player_code"]}
    for row in players.to_dict("records"):
        if pd.isna(row["player_code"]) or int(row["player_code"]) not in histories:
            continue
        item = {
            "fixture": fixture_ids[(row["home_team_name"], row["away_team_name"])],
            "opponent_team": team_ids[row["opponent_name"]],
            "was_home": bool(row["was_home"]),
            "kickoff_time": row["kickoff"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "round": int(row["gameweek"]),
            "value": None if pd.isna(row["price"]) else round(row["price"] * 10),
        }
        for name, api_name in reverse.items():
            value = row[name]
            item[api_name] = None if pd.isna(value) else (value.item() if hasattr(value, "item") else value)
        histories[int(row["player_code"])].append(item)
    for e in elements.itertuples():
        responses[f"element-summary/{int(e.element_id)}/"] = {"history": histories[int(e.player_code)], "fixtures": []}
    return responses
