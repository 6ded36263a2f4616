"""The canonical team table: every Premier League club since 2005 and every spelling the sources use.

Sources spell clubs differently ("Man Utd", "Man United", "Manchester United", "MUN"). Every name that
enters the warehouse is resolved here; an unknown name is an error naming the name and the source,
never a silent new team.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from fpl_platform.lib.errors import UnknownTeamError


@dataclass(frozen=True)
class Team:
    """One club: its three-letter code, canonical name and known aliases."""

    code: str
    name: str
    aliases: tuple[str, ...]


# code, canonical name, aliases (the code and the canonical name are aliases too)
_TEAMS: list[tuple[str, str, tuple[str, ...]]] = [
    ("ARS", "Arsenal", ()),
    ("AVL", "Aston Villa", ("Villa",)),
    ("BIR", "Birmingham City", ("Birmingham",)),
    ("BLB", "Blackburn Rovers", ("Blackburn",)),
    ("BLP", "Blackpool", ()),
    ("BOL", "Bolton Wanderers", ("Bolton",)),
    ("BOU", "Bournemouth", ("AFC Bournemouth",)),
    ("BRE", "Brentford", ()),
    ("BHA", "Brighton & Hove Albion", ("Brighton", "Brighton and Hove Albion", "Brighton Hove Albion")),
    ("BUR", "Burnley", ()),
    ("CAR", "Cardiff City", ("Cardiff",)),
    ("CHA", "Charlton Athletic", ("Charlton",)),
    ("CHE", "Chelsea", ()),
    ("COV", "Coventry City", ("Coventry",)),
    ("CRY", "Crystal Palace", ("Palace",)),
    ("DER", "Derby County", ("Derby",)),
    ("EVE", "Everton", ()),
    ("FUL", "Fulham", ()),
    ("HUD", "Huddersfield Town", ("Huddersfield",)),
    ("HUL", "Hull City", ("Hull",)),
    ("IPS", "Ipswich Town", ("Ipswich",)),
    ("LEE", "Leeds United", ("Leeds",)),
    ("LEI", "Leicester City", ("Leicester",)),
    ("LIV", "Liverpool", ()),
    ("LUT", "Luton Town", ("Luton",)),
    ("MCI", "Manchester City", ("Man City",)),
    ("MUN", "Manchester United", ("Man Utd", "Man United")),
    ("MID", "Middlesbrough", ("Boro",)),
    ("NEW", "Newcastle United", ("Newcastle",)),
    ("NFO", "Nottingham Forest", ("Nott'm Forest", "Nottm Forest", "Forest")),
    ("NOR", "Norwich City", ("Norwich",)),
    ("POR", "Portsmouth", ()),
    ("QPR", "Queens Park Rangers", ()),
    ("REA", "Reading", ()),
    ("SHU", "Sheffield United", ("Sheffield Utd", "Sheff Utd")),
    ("SOU", "Southampton", ()),
    ("STK", "Stoke City", ("Stoke",)),
    ("SUN", "Sunderland", ()),
    ("SWA", "Swansea City", ("Swansea",)),
    ("TOT", "Tottenham Hotspur", ("Spurs", "Tottenham")),
    ("WAT", "Watford", ()),
    ("WBA", "West Bromwich Albion", ("West Brom",)),
    ("WHU", "West Ham United", ("West Ham",)),
    ("WIG", "Wigan Athletic", ("Wigan",)),
    ("WOL", "Wolverhampton Wanderers", ("Wolves", "Wolverhampton")),
]

TEAMS: tuple[Team, ...] = tuple(Team(code, name, (code, name, *aliases)) for code, name, aliases in _TEAMS)


def normalise_name(name: str) -> str:
    """Comparison key for a team name: case, accents, punctuation and spacing do not matter."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    text = text.lower().replace("&", " and ").replace("’", "'")
    text = re.sub(r"[^a-z0-9']+", " ", text)
    return " ".join(text.split())


_BY_KEY: dict[str, Team] = {}
for _team in TEAMS:
    for _alias in _team.aliases:
        _key = normalise_name(_alias)
        if _key in _BY_KEY and _BY_KEY[_key] is not _team:
            raise RuntimeError(f"alias {_alias!r} is claimed by two teams")
        _BY_KEY[_key] = _team


def resolve(name: str, source: str) -> Team:
    """The canonical team for a name as spelled by `source`; raises UnknownTeamError otherwise."""
    team = _BY_KEY.get(normalise_name(name)) if name is not None else None
    if team is None:
        raise UnknownTeamError(source, f"unknown team name {name!r}; add it to fpl_platform/lib/teams.py if it is real")
    return team


def canonical_name(name: str, source: str) -> str:
    """The canonical name for a team name spelled by `source`."""
    return resolve(name, source).name


def canonicalise_columns(frame, columns: list[str], source: str, *, row_offset: int = 2):
    """Replace team names in `columns` by canonical names; an unknown name raises naming its row and field.

    Errors name the file row from a `_source_row` column when the frame has one; otherwise
    `row_offset` turns the zero-based position into a row number.
    """
    frame = frame.copy()
    for column in columns:
        mapping: dict[str, str] = {}
        for position, value in enumerate(frame[column].tolist()):
            if value in mapping:
                continue
            team = _BY_KEY.get(normalise_name(value)) if isinstance(value, str) else None
            if team is None:
                row = int(frame["_source_row"].iat[position]) if "_source_row" in frame else position + row_offset
                raise UnknownTeamError(
                    source,
                    f"unknown team name {value!r}; add it to fpl_platform/lib/teams.py if it is real",
                    row=row,
                    field=column,
                )
            mapping[value] = team.name
        frame[column] = frame[column].map(mapping)
    return frame


def team_table() -> list[dict]:
    """One row per (team, alias) for the raw.teams table."""
    return [
        {"team": team.name, "code": team.code, "alias": alias, "alias_key": normalise_name(alias)}
        for team in TEAMS
        for alias in team.aliases
    ]
