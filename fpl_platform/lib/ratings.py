"""Team strength models: a time-decayed Dixon-Coles goals model and an Elo rating with goal margin.

Dixon & Coles (1997): home goals ~ Poisson(λ), away goals ~ Poisson(μ) with
log λ = attack[home] + defence[away] + home_advantage, log μ = attack[away] + defence[home]
(`defence` is the log-rate a team concedes at: higher is worse), a low-score correction τ(ρ), and
match weights exp(−ξ·age in days). Fitted by L-BFGS with the analytic gradient; a ridge penalty pulls
each team towards a prior (0 for established teams, a below-average prior for promoted ones) so a
team with few matches in the window gets sensible, finite strengths.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MAX_GOALS = 10


@dataclass
class DixonColesParams:
    """A fitted model: per-team attack/defence, home advantage and rho."""

    teams: list[str]
    attack: np.ndarray
    defence: np.ndarray
    home_advantage: float
    rho: float
    iterations: int = 0
    fitted_on: int = 0

    def index(self) -> dict[str, int]:
        return {team: i for i, team in enumerate(self.teams)}

    def rates(self, home: list[str], away: list[str], priors: dict[str, tuple[float, float]] | None = None):
        """Expected goals (λ, μ) for fixtures; unknown teams take `priors` (or the promoted default)."""
        index = self.index()

        def strengths(team: str) -> tuple[float, float]:
            if team in index:
                i = index[team]
                return self.attack[i], self.defence[i]
            return (priors or {}).get(team, PROMOTED_PRIOR)

        home_s = np.array([strengths(t) for t in home]).reshape(-1, 2)
        away_s = np.array([strengths(t) for t in away]).reshape(-1, 2)
        lam = np.exp(home_s[:, 0] + away_s[:, 1] + self.home_advantage)
        mu = np.exp(away_s[:, 0] + home_s[:, 1])
        return lam, mu

    def probabilities(self, home: list[str], away: list[str], priors=None) -> np.ndarray:
        """P(home win, draw, away win) per fixture."""
        lam, mu = self.rates(home, away, priors)
        return outcome_probabilities(lam, mu, self.rho)


# a promoted team scores about 25% less and concedes about 20% more than an average team
PROMOTED_PRIOR = (-0.25, 0.20)


def _tau_terms(x, y, lam, mu, rho):
    """τ and the derivatives of log τ with respect to log λ, log μ and ρ."""
    tau = np.ones_like(lam)
    d_loglam = np.zeros_like(lam)
    d_logmu = np.zeros_like(lam)
    d_rho = np.zeros_like(lam)
    m00 = (x == 0) & (y == 0)
    m01 = (x == 0) & (y == 1)
    m10 = (x == 1) & (y == 0)
    m11 = (x == 1) & (y == 1)
    lm = lam * mu
    tau[m00] = 1 - lm[m00] * rho
    d_loglam[m00] = -lm[m00] * rho / tau[m00]
    d_logmu[m00] = -lm[m00] * rho / tau[m00]
    d_rho[m00] = -lm[m00] / tau[m00]
    tau[m01] = 1 + lam[m01] * rho
    d_loglam[m01] = lam[m01] * rho / tau[m01]
    d_rho[m01] = lam[m01] / tau[m01]
    tau[m10] = 1 + mu[m10] * rho
    d_logmu[m10] = mu[m10] * rho / tau[m10]
    d_rho[m10] = mu[m10] / tau[m10]
    tau[m11] = 1 - rho
    d_rho[m11] = -1 / tau[m11]
    return tau, d_loglam, d_logmu, d_rho


@dataclass(frozen=True)
class FitData:
    """Indexed matches for one fit: team indices, goals, weights, priors and the ridge strength."""

    home: np.ndarray
    away: np.ndarray
    home_goals: np.ndarray
    away_goals: np.ndarray
    weights: np.ndarray
    prior_attack: np.ndarray
    prior_defence: np.ndarray
    ridge: float


def negative_log_likelihood(theta: np.ndarray, data: FitData) -> tuple[float, np.ndarray]:
    """Weighted DC negative log-likelihood plus ridge penalty (both / Σw), and its analytic gradient.

    theta = [attack (n), defence (n), home advantage, rho].
    """
    n = len(data.prior_attack)
    attack, defence, home_adv, rho = theta[:n], theta[n : 2 * n], theta[2 * n], theta[2 * n + 1]
    h, a, x, y, weights = data.home, data.away, data.home_goals, data.away_goals, data.weights
    loglam = attack[h] + defence[a] + home_adv
    logmu = attack[a] + defence[h]
    lam, mu = np.exp(loglam), np.exp(logmu)
    tau, t_lam, t_mu, t_rho = _tau_terms(x, y, lam, mu, rho)
    if np.any(tau <= 0):
        return 1e10, np.zeros_like(theta)
    scale = weights.sum()
    loglik = weights * (np.log(tau) + x * loglam - lam + y * logmu - mu)
    g_lam = weights * (x - lam + t_lam)
    g_mu = weights * (y - mu + t_mu)
    grad_attack = np.bincount(h, g_lam, n) + np.bincount(a, g_mu, n)
    grad_defence = np.bincount(a, g_lam, n) + np.bincount(h, g_mu, n)
    da, dd = attack - data.prior_attack, defence - data.prior_defence
    value = -(loglik.sum()) / scale + data.ridge * ((da**2).sum() + (dd**2).sum()) / scale
    gradient = np.concatenate(
        [
            -grad_attack / scale + 2 * data.ridge * da / scale,
            -grad_defence / scale + 2 * data.ridge * dd / scale,
            [-g_lam.sum() / scale],
            [-(weights * t_rho).sum() / scale],
        ]
    )
    return float(value), gradient


# Dixon-Coles time decay per day: a match a year old weighs exp(-0.0018 * 365) ~ 0.52 of today's (close to Dixon
# and Coles' own estimate for English league football, 0.0065 per half-week)
XI = 0.0018


@dataclass
class DixonColes:
    """Time-decayed Dixon-Coles fitter (ξ per day, ridge towards team priors)."""

    xi: float = XI
    ridge: float = 1.0
    max_iterations: int = 500
    tolerance: float = 1e-7
    _warm: dict = field(default_factory=dict, repr=False)

    def fit(
        self,
        home: np.ndarray,
        away: np.ndarray,
        home_goals: np.ndarray,
        away_goals: np.ndarray,
        age_days: np.ndarray,
        *,
        priors: dict[str, tuple[float, float]] | None = None,
        warm_start: DixonColesParams | None = None,
    ) -> DixonColesParams:
        """Maximise the weighted DC likelihood minus the ridge penalty."""
        from scipy.optimize import minimize

        teams = sorted(set(home) | set(away))
        index = {t: i for i, t in enumerate(teams)}
        h = np.array([index[t] for t in home])
        a = np.array([index[t] for t in away])
        x = np.asarray(home_goals, dtype=float)
        y = np.asarray(away_goals, dtype=float)
        weights = np.exp(-self.xi * np.asarray(age_days, dtype=float))
        n = len(teams)
        prior = np.array([(priors or {}).get(t, (0.0, 0.0)) for t in teams]).reshape(n, 2)
        prior_attack, prior_defence = prior[:, 0], prior[:, 1]

        data = FitData(h, a, x, y, weights, prior_attack, prior_defence, self.ridge)

        def objective(theta):
            return negative_log_likelihood(theta, data)

        theta0 = np.concatenate([prior_attack, prior_defence, [0.25, -0.05]])
        if warm_start is not None:
            previous = warm_start.index()
            for team, i in index.items():
                if team in previous:
                    theta0[i] = warm_start.attack[previous[team]]
                    theta0[n + i] = warm_start.defence[previous[team]]
            theta0[2 * n] = warm_start.home_advantage
            theta0[2 * n + 1] = warm_start.rho
        bounds = [(None, None)] * (2 * n) + [(None, None), (-0.2, 0.2)]
        result = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": self.max_iterations, "ftol": self.tolerance * 1e-3, "gtol": self.tolerance},
        )
        attack, defence, home_adv, rho = result.x[:n], result.x[n : 2 * n], result.x[2 * n], result.x[2 * n + 1]
        return DixonColesParams(teams, attack.copy(), defence.copy(), float(home_adv), float(rho), int(result.nit), len(x))


def outcome_probabilities(lam: np.ndarray, mu: np.ndarray, rho: float, max_goals: int = MAX_GOALS) -> np.ndarray:
    """H/D/A probabilities from the DC score matrix (τ-corrected Poisson), renormalised."""
    goals = np.arange(max_goals + 1)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(goals[1:]))])

    def pmf(rate: np.ndarray) -> np.ndarray:  # Poisson pmf in numpy: scipy.stats costs 1.4 s to import
        rate = np.asarray(rate, dtype=float)[:, None]
        return np.exp(goals[None, :] * np.log(rate) - rate - log_factorial[None, :])

    ph = pmf(lam)
    pa = pmf(mu)
    matrix = ph[:, :, None] * pa[:, None, :]
    matrix[:, 0, 0] *= 1 - lam * mu * rho
    matrix[:, 0, 1] *= 1 + lam * rho
    matrix[:, 1, 0] *= 1 + mu * rho
    matrix[:, 1, 1] *= 1 - rho
    home = np.tril(np.ones((max_goals + 1, max_goals + 1)), -1)
    p_home = (matrix * home[None]).sum(axis=(1, 2))
    p_draw = np.trace(matrix, axis1=1, axis2=2)
    p_away = (matrix * home.T[None]).sum(axis=(1, 2))
    total = p_home + p_draw + p_away
    return np.column_stack([p_home, p_draw, p_away]) / total[:, None]


def _naive_utc(kickoffs: pd.Series) -> np.ndarray:
    """datetime64[ns] in UTC without a zone, for fast comparisons."""
    values = pd.to_datetime(kickoffs, utc=True)
    return values.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def round_members(matches: pd.DataFrame) -> dict[tuple[str, int], np.ndarray]:
    """Row positions of each (season, gameweek)'s matches, in the frame's order."""
    return {
        (season, int(gameweek)): positions
        for (season, gameweek), positions in matches.groupby(["season", "gameweek"], sort=False).indices.items()
    }


def rounds(matches: pd.DataFrame) -> pd.DataFrame:
    """Prediction rounds: one per (season, gameweek), with the cutoff = the round's first kickoff."""
    first = matches.groupby(["season", "gameweek"], as_index=False)["kickoff"].min().rename(columns={"kickoff": "cutoff"})
    return first.sort_values("cutoff").reset_index(drop=True)


def walk_forward_dixon_coles(
    matches: pd.DataFrame,
    *,
    xi: float = XI,
    window_days: int = 3 * 365,
    ridge: float = 1.0,
    seasons: list[str] | None = None,
    min_history: int = 200,
) -> pd.DataFrame:
    """Refit before every gameweek on matches strictly before its first kickoff; rate that gameweek's matches.

    A scheduled round with no match played since the last refit (a round beyond the next) keeps that fit.

    Returns one row per predicted match: match_id, cutoff, the team strengths, λ, μ and P(H/D/A).
    Teams new to the window (promoted) get the promoted prior.
    """
    matches = matches.sort_values(["kickoff", "match_id"]).reset_index(drop=True)  # a total order: replays repeat bit for bit
    plan = rounds(matches)
    if seasons is not None:
        plan = plan[plan["season"].isin(seasons)]
    model = DixonColes(xi=xi, ridge=ridge)
    previous: DixonColesParams | None = None
    seasons_of_team = matches.groupby("season").apply(lambda m: set(m["home_team"]) | set(m["away_team"]), include_groups=False)
    season_order = list(seasons_of_team.index)
    out = []
    kickoff_ns = _naive_utc(matches["kickoff"])
    played = matches["home_goals"].notna().to_numpy()  # scheduled fixtures are rated, never fitted on
    members = round_members(matches)
    fitted_at, fitted_season = None, None  # the cutoff and season of the last refit
    for round_, cutoff in zip(plan.itertuples(), _naive_utc(plan["cutoff"]), strict=True):
        targets = matches.iloc[members[(round_.season, int(round_.gameweek))]]
        position = season_order.index(round_.season)
        previous_teams = seasons_of_team.iloc[position - 1] if position > 0 else set()
        priors = {t: PROMOTED_PRIOR for t in seasons_of_team.iloc[position] if t not in previous_teams}
        if fitted_season == round_.season and not (played & (kickoff_ns >= fitted_at) & (kickoff_ns < cutoff)).any():
            # no match played since the last refit: a round further ahead keeps that fit (its ratings are
            # provisional until the results before it are in). A refit would see the same matches, their
            # decay weights all scaled by one factor, and at most a few old ones leaving the window.
            params = previous
        else:
            in_window = played & (kickoff_ns < cutoff) & (kickoff_ns >= cutoff - np.timedelta64(window_days, "D"))
            history = matches[in_window]
            if len(history) < min_history:
                continue
            age = (cutoff - kickoff_ns[in_window]) / np.timedelta64(1, "D")
            params = model.fit(
                history["home_team"].to_numpy(),
                history["away_team"].to_numpy(),
                history["home_goals"].to_numpy(),
                history["away_goals"].to_numpy(),
                age,
                priors=priors,
                # within a season only: a season's first refit starts cold, so recomputing from a season (as the
                # features step does when its results change) gives exactly the rows a full computation gives
                warm_start=previous if fitted_season == round_.season else None,
            )
            previous, fitted_at, fitted_season = params, cutoff, round_.season
        probabilities = params.probabilities(list(targets["home_team"]), list(targets["away_team"]), priors)
        lam, mu = params.rates(list(targets["home_team"]), list(targets["away_team"]), priors)
        index = params.index()

        def strength(team, which, index=index, params=params, priors=priors):
            if team in index:
                return (params.attack if which == 0 else params.defence)[index[team]]
            return priors.get(team, PROMOTED_PRIOR)[which]

        out.append(
            pd.DataFrame(
                {
                    "match_id": targets["match_id"].to_numpy(),
                    "cutoff": round_.cutoff,
                    "home_attack": [strength(t, 0) for t in targets["home_team"]],
                    "home_defence": [strength(t, 1) for t in targets["home_team"]],
                    "away_attack": [strength(t, 0) for t in targets["away_team"]],
                    "away_defence": [strength(t, 1) for t in targets["away_team"]],
                    "home_advantage": params.home_advantage,
                    "rho": params.rho,
                    "dc_home_xg": lam,
                    "dc_away_xg": mu,
                    "dc_p_home": probabilities[:, 0],
                    "dc_p_draw": probabilities[:, 1],
                    "dc_p_away": probabilities[:, 2],
                    "dc_fit_matches": params.fitted_on,
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


@dataclass
class Elo:
    """Elo with a goal-margin multiplier; between seasons ratings regress towards the mean.

    Promoted teams enter at the mean final rating of the teams they replaced.
    """

    k: float = 20.0
    home_advantage: float = 60.0
    season_regression: float = 0.2
    initial: float = 1500.0

    def expected_home(self, home_rating: float, away_rating: float) -> float:
        return 1.0 / (1.0 + 10 ** (-(home_rating + self.home_advantage - away_rating) / 400.0))

    def walk_forward(self, matches: pd.DataFrame) -> pd.DataFrame:
        """Ratings of both teams as of each gameweek's first kickoff (only earlier matches count)."""
        matches = matches.sort_values(["kickoff", "match_id"]).reset_index(drop=True)  # a total order: replays repeat bit for bit
        plan = rounds(matches)
        kickoffs = _naive_utc(matches["kickoff"])
        home_teams, away_teams = matches["home_team"].to_numpy(), matches["away_team"].to_numpy()
        played = matches["home_goals"].notna().to_numpy()
        home_goals = matches["home_goals"].to_numpy(dtype=float, na_value=np.nan)
        away_goals = matches["away_goals"].to_numpy(dtype=float, na_value=np.nan)
        members = round_members(matches)
        ratings: dict[str, float] = {}
        season_teams: dict[str, set] = {s: set(g["home_team"]) | set(g["away_team"]) for s, g in matches.groupby("season")}
        current_season = None
        applied = 0
        rows, home, away = [], [], []
        for round_, cutoff in zip(plan.itertuples(), _naive_utc(plan["cutoff"]), strict=True):
            while applied < len(matches) and kickoffs[applied] < cutoff:
                if played[applied]:
                    self._update(ratings, home_teams[applied], away_teams[applied], home_goals[applied] - away_goals[applied])
                applied += 1
            if round_.season != current_season:
                self._new_season(ratings, season_teams[round_.season])
                current_season = round_.season
            targets = members[(round_.season, int(round_.gameweek))]
            rows.append(targets)
            home.extend(ratings[t] for t in home_teams[targets])
            away.extend(ratings[t] for t in away_teams[targets])
        order = np.concatenate(rows) if rows else np.array([], dtype=int)
        home_rating, away_rating = np.array(home, dtype=float), np.array(away, dtype=float)
        return pd.DataFrame(
            {
                "match_id": matches["match_id"].to_numpy()[order],
                "elo_home": home_rating,
                "elo_away": away_rating,
                "elo_expected_home": 1.0 / (1.0 + 10 ** (-(home_rating + self.home_advantage - away_rating) / 400.0)),
            }
        )

    def _new_season(self, ratings: dict[str, float], teams: set[str]) -> None:
        # teams in sorted order, never a set's: a set of strings iterates in an order that changes with each
        # process's hash seed, and the order in which teams enter `ratings` decides the order in which the
        # leaving teams' ratings are summed below (floating-point sums differ in the last bits between orders)
        leaving = sorted(t for t in ratings if t not in teams)
        arriving = [t for t in sorted(teams) if t not in ratings or t in leaving]
        entry = float(np.mean([ratings[t] for t in leaving])) if leaving else self.initial
        for team in list(ratings):
            ratings[team] = self.initial + (1 - self.season_regression) * (ratings[team] - self.initial)
        for team in sorted(teams):
            if team not in ratings or team in arriving:
                ratings[team] = entry if ratings else self.initial

    def _update(self, ratings: dict[str, float], home_team: str, away_team: str, difference: float) -> None:
        """One played match; `difference` is home goals − away goals."""
        home = ratings.setdefault(home_team, self.initial)
        away = ratings.setdefault(away_team, self.initial)
        expected = self.expected_home(home, away)
        actual = 1.0 if difference > 0 else (0.5 if difference == 0 else 0.0)
        margin = 1.0 if difference == 0 else 1.0 + np.log1p(abs(difference))
        change = self.k * margin * (actual - expected)
        ratings[home_team] = home + change
        ratings[away_team] = away - change
