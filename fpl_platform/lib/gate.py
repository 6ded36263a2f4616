"""The champion/challenger gate: both models' losses on the same recent matches, honestly out of sample.

The window is the last N finished gameweeks before the training cutoff. Inside it, blocks of
`refit_every` gameweeks are predicted walk-forward:
- the challenger's recipe is refit on everything before each block's first kickoff;
- the champion is the frozen serving model for blocks that start after its own data cutoff (it has
  never seen them), and its recipe refit the same way for earlier blocks (where the frozen model
  would be scoring its own training data).
So neither side ever scores a match it was trained on, and a challenger that only adds fresher data
is credited exactly for what fresher data buys on the recent gameweeks.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


class FitCache:
    """`fit(rows)` memoised on the training rows' content, in memory and (given a directory) on disk.

    Fits are deterministic, so the same rows give the same model. Within one training the validation fit
    and a gate block often train on exactly the same rows; across weekly retrains the gate's blocks start
    at fixed gameweeks (see `paired_losses`), so last week's block fits serve again. The key is the rows'
    content and order, the fit function and the source of its module (a changed recipe never hits an old
    entry); `recipe` adds anything else the fit depends on (a candidate's parameters). `columns`, when given,
    are the only columns the fit reads: the key hashes those alone (the player rows' names, teams and ids
    were most of the hashing). The directory keeps the `keep` most recently used fits of each recipe.
    """

    def __init__(
        self,
        fit: Callable[[pd.DataFrame], object],
        *,
        recipe: str = "",
        directory: Path | None = None,
        keep: int = 64,
        columns: Sequence[str] | None = None,
    ):
        import hashlib

        function = fit.func if isinstance(fit, functools.partial) else fit
        self.fit, self.keep = fit, keep
        self.columns = None if columns is None else list(columns)
        self.prefix = hashlib.sha256(
            f"{function.__module__}.{function.__qualname__}|{recipe}|{_module_source(function.__module__)}".encode()
        ).hexdigest()
        # one subdirectory per recipe, so the many small fits of one recipe never evict another's
        self.directory = directory / self.prefix[:16] if directory is not None else None
        self.memory: dict[str, object] = {}
        self.hits = self.misses = 0

    @property
    def counts(self) -> dict[str, int]:
        """How many models were fitted, and how many came from the cache."""
        return {"fitted": self.misses, "reused": self.hits}

    def key(self, rows: pd.DataFrame) -> str:
        import hashlib

        if self.columns is not None:
            rows = rows[self.columns]
        digest = hashlib.sha256(self.prefix.encode())
        digest.update(str(list(rows.columns)).encode())
        digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
        return digest.hexdigest()[:32]

    def __call__(self, rows: pd.DataFrame) -> object:
        return self.many([rows])[0]

    def many(
        self, frames: Sequence[pd.DataFrame], *, threads: int = 1, done: Callable[[int], None] | None = None
    ) -> list[object]:
        """`[self(rows) for rows in frames]`, the missing fits made `threads` at a time; `done(i)` is called (in
        this thread) as the model of `frames[i]` becomes available.

        Threads pay only for fits that release the GIL (XGBoost's do) and give the same model however many run
        beside them (XGBoost's hist fits are the same bit for bit at any thread count)."""
        from concurrent.futures import ThreadPoolExecutor, as_completed

        keys = [self.key(rows) for rows in frames]
        waiting: dict[str, list[int]] = {}
        missing = {}
        for index, (key, rows) in enumerate(zip(keys, frames, strict=True)):
            if key not in self.memory and key not in missing:
                model = self._load(key)
                if model is None:
                    missing[key] = rows
                else:
                    self.memory[key] = model
            waiting.setdefault(key, []).append(index)
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)

        def made(key: str, model: object | None = None) -> None:
            if model is not None:
                self.memory[key] = model
                self._store(key, model)
            for index in waiting.pop(key):
                if done is not None:
                    done(index)

        for key in [key for key in waiting if key not in missing]:
            made(key)
        if threads > 1 and len(missing) > 1:
            with ThreadPoolExecutor(min(threads, len(missing))) as pool:
                futures = {pool.submit(self.fit, rows): key for key, rows in missing.items()}
                for future in as_completed(futures):
                    made(futures[future], future.result())
        else:
            for key, rows in missing.items():
                made(key, self.fit(rows))
        return [self.memory[key] for key in keys]

    def _load(self, key: str) -> object | None:
        """The stored fit of `key` (marked most recently used), or None when there is none or it is damaged."""
        import pickle

        stored = self.directory / f"{key}.pkl" if self.directory is not None else None
        if stored is None or not stored.exists():
            return None
        try:
            model = pickle.loads(stored.read_bytes())
            stored.touch()  # most recently used
            return model
        except (OSError, EOFError, pickle.UnpicklingError):  # a truncated or vanished entry is a miss
            return None

    def _store(self, key: str, model: object) -> None:
        import os
        import pickle

        if self.directory is None:
            return
        stored = self.directory / f"{key}.pkl"
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = stored.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pickle.dumps(model))
        os.replace(temporary, stored)
        entries = sorted(self.directory.glob("*.pkl"), key=lambda path: path.stat().st_mtime)
        for old in entries[: max(0, len(entries) - self.keep)]:
            old.unlink(missing_ok=True)


@functools.cache
def _module_source(name: str) -> str:
    """A module's source, read once per process (a module's code does not change while it runs)."""
    import inspect
    import sys

    module = sys.modules[name]
    return inspect.getsource(module) if getattr(module, "__file__", None) else ""


def window_rounds(history: pd.DataFrame, gameweeks: int) -> pd.DataFrame:
    """The last `gameweeks` (season, gameweek) rounds of `history`, with each round's first kickoff as `cutoff`."""
    rounds = history.groupby(["season", "gameweek"], as_index=False)["cutoff"].min().sort_values("cutoff")
    return rounds.tail(gameweeks).reset_index(drop=True)


def block_starts(history: pd.DataFrame, rounds: pd.DataFrame, refit_every: int) -> pd.Series:
    """Per round: the first kickoff of its fixed block (gameweeks 1…k, k+1…2k, … of its season) in `history`."""
    block = lambda frame: frame["season"].astype(str) + "/" + ((frame["gameweek"].astype(int) - 1) // refit_every).astype(str)  # noqa: E731
    first = history.groupby(block(history))["cutoff"].min()
    return block(rounds).map(first).rename("block_cutoff")


def paired_losses(
    history: pd.DataFrame,
    rounds: pd.DataFrame,
    *,
    refit_every: int,
    fit_challenger: Callable[[pd.DataFrame], object],
    fit_champion: Callable[[pd.DataFrame], object] | None,
    champion_model: object,
    champion_trained_until: pd.Timestamp,
    loss: Callable[[object, pd.DataFrame], np.ndarray],
    training_rows: Callable[[pd.DataFrame, pd.Timestamp], pd.DataFrame] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Per window row: season, gameweek, challenger_loss, champion_loss, champion_source ('frozen' or 'refit').

    Blocks are fixed: gameweeks 1…k, k+1…2k, … of each season (k = `refit_every`), each fitted on
    everything before its first gameweek's first kickoff, also when that gameweek is older than the
    window. So next week's gate trains its blocks on the same rows as this week's (a `FitCache` reuses
    them) and only a block that starts inside the new week needs a new fit.
    `fit_champion` None means the champion's recipe is the challenger's (one fit serves both).
    `training_rows(history, block_cutoff)` picks the training rows (default: everything before the cutoff).
    `progress` gets a line per block.
    """
    from fpl_platform.lib.progress import Progress, rounds_text

    select = training_rows or (lambda frame, cutoff: frame[frame["kickoff"] < cutoff])
    starts = block_starts(history, rounds, refit_every)
    parts = []
    blocks = Progress(progress, "gate block", rounds.groupby(starts, sort=False).ngroups)
    for block_cutoff, block in rounds.groupby(starts, sort=False):
        training = select(history, block_cutoff)
        challenger = fit_challenger(training)
        blocks.step(rounds_text(block))
        if block_cutoff > champion_trained_until:
            champion, source = champion_model, "frozen"
        else:
            champion, source = (challenger if fit_champion is None else fit_champion(training)), "refit"
        keys = set(zip(block["season"], block["gameweek"], strict=True))
        targets = history[[k in keys for k in zip(history["season"], history["gameweek"], strict=True)]]
        parts.append(
            pd.DataFrame(
                {
                    "season": targets["season"].to_numpy(),
                    "gameweek": targets["gameweek"].to_numpy(),
                    "challenger_loss": loss(challenger, targets),
                    "champion_loss": loss(champion, targets),
                    "champion_source": source,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def match_rps_loss(model, frame: pd.DataFrame) -> np.ndarray:
    """Per-match RPS of a match outcome model."""
    from fpl_platform.lib.metrics import outcome_index, rps

    return rps(model.predict_proba(frame), outcome_index(frame["home_goals"], frame["away_goals"]))


def player_squared_error(model, frame: pd.DataFrame) -> np.ndarray:
    """Per player-fixture squared error of a points model."""
    return (model.predict(frame) - frame["points"].to_numpy(dtype=float)) ** 2
