"""Decisions that survive a kill (issue 18, item 4), reproduced as the fault probe did: a child process trains or
rolls back and is killed with SIGKILL at one point between its writes; then the real reconciliation runs
(`fpl-platform status` through the command line's entry, or the next training) and MLflow's aliases, the trainings table and
monitoring.retraining_events must agree, dead MLflow runs be FAILED, orphan versions tagged, and a second
reconciliation change nothing.

Real MLflow sqlite store, real DuckDB warehouse, real Dagster runs. Where the model is not the point, the
training is `train_and_gate` on a model that is a dict (a second or two); one test kills the real
ml/match_outcome_model.
"""

# no `from __future__ import annotations`: Dagster reads the tiny asset's Config annotation as a class
import contextlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import dagster as dg
import numpy as np
import pandas as pd
import pytest

from fpl_platform.defs.training.gating import Challenger, live_runs, train_and_gate
from fpl_platform.lib import promotion, status, tracking
from fpl_platform.resources import MlflowTracking, Notifier, RunClock, Warehouse
from fpl_platform_tests.conftest import materialise, resources_for

MODEL = "match_outcome"
GATE = {"match_margin": 0.001, "player_margin": 0.001, "alpha": 0.05, "test": "diebold_mariano", "match_gameweeks": 4}


class TinyTraining(dg.Config):
    """Which tiny model to train (a new level is a new training key) and whether it beats the champion."""

    level: float = 1.0
    better: bool = True


def fit_tiny(level: float) -> dict:
    """The tiny model: a dict (picklable, loadable as a champion). A child script replaces this to die in the fit."""
    return {"level": level}


@dg.asset(key=["ml", "match_outcome_model"])
def tiny_match_model(
    context: dg.AssetExecutionContext,
    config: TinyTraining,
    warehouse: Warehouse,
    mlflow_tracking: MlflowTracking,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """The real champion/challenger path (train_and_gate) with a tiny model and a gate whose losses are given."""
    history = pd.DataFrame(
        {"season": "2025-26", "kickoff": pd.date_range("2025-08-01", periods=8, freq="7D", tz="UTC"), "y": np.arange(8.0)}
    )

    def compare(model, champion, settings: dict) -> pd.DataFrame:
        spread = np.linspace(0.0, 0.02, 40)
        good, bad = 0.1 + spread, 0.5 + spread[::-1]
        return pd.DataFrame(
            {
                "season": "2025-26",
                "gameweek": np.repeat(np.arange(1, 5), 10),
                "challenger_loss": good if config.better else bad,
                "champion_loss": bad if config.better else good,
            }
        )

    result = train_and_gate(
        context,
        warehouse,
        mlflow_tracking,
        notifier,
        Challenger(
            model_name=MODEL,
            as_of=f"level {config.level}",
            cutoff=pd.Timestamp("2025-10-01 15:00", tz="UTC"),
            history=history,
            fit=lambda: fit_tiny(config.level),
            candidate="tiny",
            params={"level": config.level},
            metrics={"validation_rps": 0.2},
            validation_score=0.2,
            validation_seasons=["2024-25"],
            metric="rps",
            compare=compare,
        ),
        GATE,
        clock.now(),
    )
    return dg.MaterializeResult(metadata={"decision": result["decision"], "version": result["version"]})


def train_tiny(instance, level: float, better: bool = True) -> dict:
    """One tiny training in this process; returns its materialisation's metadata."""
    result = dg.materialize(
        [tiny_match_model],
        instance=instance,
        resources={
            "warehouse": Warehouse(),
            "mlflow_tracking": MlflowTracking(),
            "notifier": Notifier(backoff_seconds=0.01),
            "clock": RunClock(),
        },
        run_config={"ops": {"ml__match_outcome_model": {"config": {"level": level, "better": better}}}},
    )
    metadata = result.asset_materializations_for_node("ml__match_outcome_model")[0].metadata
    return {key: value.value for key, value in metadata.items()}


# the child: the CLI's home and Dagster instance, one patch that kills the process at the chosen point, then work
CHILD = """
import os, signal, sys
from fpl_platform.lib import promotion
import fpl_platform_tests.test_decisions_survive_a_kill as here

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

{patch}
import dagster as dg
from fpl_platform.runtime import prepare_home
prepare_home()
{work}
sys.exit(3)  # not reached: the patch kills first
"""
TRAIN = """
with dg.DagsterInstance.get() as instance:
    here.train_tiny(instance, {level}, {better})
"""
KILL_AT = {
    # inside the MLflow run, before anything is registered: the run stays RUNNING
    "fit": "here.fit_tiny = die",
    # after register (and the challenger alias), before the decision is tagged on the version: an orphan
    "intent": "promotion.record_intent = die",
    # after the intent, before any alias moves
    "alias_move": "promotion.promote = die",
    # after the aliases moved, before the trainings row and the event: the probe's "champion 11, no record"
    "records": "promotion.sync_trainings = die",
}


def kill_child(patch: str, work: str) -> None:
    """Run the child script; it must die by SIGKILL (the patch fired)."""
    script = CHILD.format(patch=patch, work=textwrap.dedent(work))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=dict(os.environ), timeout=600)
    assert done.returncode == -signal.SIGKILL, done.stdout[-3000:] + done.stderr[-3000:]


def kill_training(kill_at: str, level: float, better: bool = True) -> None:
    kill_child(KILL_AT[kill_at], TRAIN.format(level=level, better=better))


def status_command() -> str:
    """`fpl-platform status`, through the command line's own entry, in this process (the killed child was the
    other process; the README test runs `status` as its own process); its output."""
    from fpl_platform.cli import main

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["status"]) == 0
    return printed.getvalue()


def champions_printed(text: str) -> set[str]:
    """Every version `status` names as the match_outcome champion (the aliases table and the trainings line)."""
    lines = text.splitlines()
    start = lines.index("Champions (MLflow aliases)")
    header = lines[start + 1].split()
    found = set()
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        cells = line.split()
        if cells[0] == MODEL and len(cells) == len(header):
            found.add(cells[header.index("champion")])
        match = re.match(rf"\s+{MODEL} champion (\S+):", line)
        if match:
            found.add(match.group(1))
    return found


def uri() -> str:
    return MlflowTracking().uri


def fingerprint(warehouse: Warehouse) -> dict:
    """Everything a reconciliation may write: aliases, version tags, run statuses, the trainings table and events."""

    def rows(sql: str) -> list:
        table = sql.split(" FROM ")[1].split()[0]
        return warehouse.read(sql).astype(str).values.tolist() if warehouse.exists(table) else []

    return {
        "aliases": tracking.aliases(uri(), MODEL),
        "versions": [(v.version, v.tags) for v in tracking.model_versions(uri(), MODEL)],
        "runs": sorted(
            (r.info.run_id, r.info.status, r.data.tags.get("fpl_platform/ended_by")) for r in tracking.runs(uri(), MODEL)
        ),
        "trainings": rows("SELECT * FROM ml.match_outcome_model ORDER BY version"),
        "events": rows("SELECT * FROM monitoring.retraining_events ORDER BY event_id"),
    }


def reconcile_again(warehouse: Warehouse) -> list[str]:
    """A second reconciliation, as status runs it (with the platform's instance judging which runs live)."""
    with dg.DagsterInstance.get() as instance:
        return status.reconcile(warehouse, MlflowTracking(), live_runs(instance))


def assert_agree(warehouse: Warehouse) -> pd.DataFrame:
    """MLflow, the trainings table and the events tell one story; returns the events (oldest first)."""
    aliases = tracking.aliases(uri(), MODEL)
    versions = {v.version: v.tags for v in tracking.model_versions(uri(), MODEL)}
    trainings = warehouse.read("SELECT version, alias, gate_decision FROM ml.match_outcome_model")
    events = warehouse.read(
        "SELECT * FROM monitoring.retraining_events WHERE model_name = ? AND decision <> 'skipped' ORDER BY created_at", [MODEL]
    )
    wanted = {version: alias for alias, version in aliases.items() if alias in ("champion", "previous")}
    assert {v: (None if pd.isna(a) else a) for v, a in zip(trainings["version"], trainings["alias"], strict=True)} == {
        v: wanted.get(v) for v in trainings["version"]
    }
    decided = {v for v, tags in versions.items() if tags.get(promotion.DECISION_TAG) in promotion.GATED}
    assert sorted(trainings["version"]) == sorted(decided)  # one row per decided version, none for an orphan
    gated = events[events["challenger_version"].notna()]
    assert sorted(gated["challenger_version"]) == sorted(decided)
    for version in decided:
        row = trainings[trainings["version"] == version].iloc[0]
        event = gated[gated["challenger_version"] == version].iloc[0]
        assert row["gate_decision"] == event["decision"] == versions[version][promotion.DECISION_TAG]
    assert events["champion_after"].iat[-1] == aliases.get("champion")  # the last decision names who serves
    assert [r.info.status for r in tracking.runs(uri(), MODEL) if r.info.status == "RUNNING"] == []
    return events


@pytest.fixture
def home(warehouse):
    """The test's FPL_PLATFORM_HOME with an empty MLflow store where the command line looks for it."""
    resources_for(warehouse)  # creates <home>/mlflow and its store
    return warehouse


def test_a_kill_during_the_fit_leaves_a_running_mlflow_run_that_status_ends_failed(home):
    kill_training("fit", 1.0)
    [run] = tracking.runs(uri(), MODEL)
    assert run.info.status == "RUNNING" and tracking.model_versions(uri(), MODEL) == []

    text = status_command()
    assert "ended FAILED" in text
    [run] = tracking.runs(uri(), MODEL)
    assert run.info.status == "FAILED" and "its process died" in run.data.tags["fpl_platform/ended_by"]
    before = fingerprint(home)
    assert reconcile_again(home) == []
    assert fingerprint(home) == before


def test_a_kill_between_register_and_the_decision_leaves_an_orphan_that_is_tagged_and_never_served(home, instance):
    kill_training("intent", 1.0)
    [version] = tracking.model_versions(uri(), MODEL)
    assert promotion.DECISION_TAG not in version.tags and tracking.aliases(uri(), MODEL) == {"challenger": "1"}

    text = status_command()
    assert "tagged abandoned" in text and "challenger alias" in text
    [version] = tracking.model_versions(uri(), MODEL)
    assert version.tags[promotion.DECISION_TAG] == promotion.ABANDONED
    assert tracking.aliases(uri(), MODEL) == {}
    assert [r.info.status for r in tracking.runs(uri(), MODEL)] == ["FAILED"]
    before = fingerprint(home)
    assert reconcile_again(home) == [] and fingerprint(home) == before

    # the same inputs again: the orphan has the same training key, but it was never gated, so this trains anew
    assert train_tiny(instance, 1.0)["decision"] == "promoted"
    assert tracking.aliases(uri(), MODEL) == {"champion": "2", "challenger": "2"}
    events = assert_agree(home)
    assert events[["challenger_version", "decision"]].values.tolist() == [["2", "promoted"]]


def test_a_kill_after_the_alias_move_is_recorded_by_status_and_status_shows_one_champion(home, instance):
    train_tiny(instance, 1.0)
    kill_training("records", 2.0)
    # the probe's fault: MLflow serves 2, the tables know only 1
    assert tracking.aliases(uri(), MODEL) == {"champion": "2", "previous": "1", "challenger": "2"}
    assert home.read("SELECT version, alias FROM ml.match_outcome_model").values.tolist() == [["1", "champion"]]

    text = status_command()
    assert champions_printed(text) == {"2"}, text
    events = assert_agree(home)
    last = events.iloc[-1]
    assert (last["decision"], last["champion_before"], last["champion_after"], last["trigger"]) == (
        "promoted",
        "1",
        "2",
        "manual",
    )
    assert promotion.RECONCILED in last["reason"] and last["n_compared"] == 40 and last["improvement"] > 0.3
    assert last["mlflow_run_id"] == tracking.model_versions(uri(), MODEL)[1].run_id
    assert home.read("SELECT version, alias FROM ml.match_outcome_model ORDER BY version").values.tolist() == [
        ["1", "previous"],
        ["2", "champion"],
    ]
    before = fingerprint(home)
    assert reconcile_again(home) == []
    assert fingerprint(home) == before


def test_a_rejected_challenger_killed_before_its_records_is_recorded_by_the_next_training(home, instance):
    train_tiny(instance, 1.0)
    kill_training("records", 2.0, better=False)
    assert tracking.aliases(uri(), MODEL) == {"champion": "1", "challenger": "2"}

    assert train_tiny(instance, 3.0, better=False)["decision"] == "rejected"
    events = assert_agree(home)
    assert events[["challenger_version", "decision", "champion_after"]].values.tolist() == [
        ["1", "promoted", "1"],
        ["2", "rejected", "1"],
        ["3", "rejected", "1"],
    ]
    assert promotion.RECONCILED in events["reason"].iat[1] and promotion.RECONCILED not in events["reason"].iat[2]
    before = fingerprint(home)
    assert reconcile_again(home) == [] and fingerprint(home) == before


def test_a_kill_before_the_alias_move_is_completed_by_the_next_training(home, instance):
    train_tiny(instance, 1.0)
    kill_training("alias_move", 2.0)
    [_, version] = tracking.model_versions(uri(), MODEL)
    assert version.tags[promotion.DECISION_TAG] == "promoted" and tracking.aliases(uri(), MODEL)["champion"] == "1"

    # the champion is still the one the gate faced: the next training completes the promotion, then finds
    # that version 2 was trained on exactly its inputs and has nothing to do
    assert train_tiny(instance, 2.0)["decision"] == "unchanged"
    assert tracking.aliases(uri(), MODEL) == {"champion": "2", "previous": "1", "challenger": "2"}
    events = assert_agree(home)
    assert events[["challenger_version", "decision", "champion_after"]].values.tolist() == [
        ["1", "promoted", "1"],
        ["2", "promoted", "2"],
    ]
    assert "moved by reconciliation" in events["reason"].iat[-1]
    before = fingerprint(home)
    assert reconcile_again(home) == [] and fingerprint(home) == before


def test_an_interrupted_promotion_whose_champion_has_moved_on_is_recorded_as_failed(home, instance):
    train_tiny(instance, 1.0)
    train_tiny(instance, 2.0)
    kill_training("alias_move", 3.0)  # the gate promoted 3 over 2; the aliases never moved
    # before anything reconciles, a person rolls 2 back: 3's gate faced a champion that no longer serves
    with home.session():
        assert promotion.rollback(home, MlflowTracking(), MODEL, evidence="a person", now=pd.Timestamp.now(tz="UTC")) == (
            "2",
            "1",
        )

    text = status_command()
    assert champions_printed(text) == {"1"}, text
    events = assert_agree(home)
    failed = events[events["challenger_version"] == "3"].iloc[0]
    assert (failed["decision"], failed["champion_before"], failed["champion_after"]) == ("failed", "2", "1")
    assert "killed before the aliases moved" in failed["reason"] and promotion.RECONCILED in failed["reason"]
    assert tracking.aliases(uri(), MODEL)["champion"] == "1"
    before = fingerprint(home)
    assert reconcile_again(home) == [] and fingerprint(home) == before


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param(
            # dies once `champion` has moved back, before `rolled_back` and `previous` follow
            """
            from fpl_platform.resources import MlflowTracking
            set_alias = MlflowTracking.set_alias
            def set_then_die(self, name, alias, version):
                set_alias(self, name, alias, version)
                if alias == "champion":
                    die()
            MlflowTracking.set_alias = set_then_die
            """,
            id="between-alias-moves",
        ),
        pytest.param("promotion.record_event = die", id="before-the-event"),
    ],
)
def test_a_kill_in_the_middle_of_a_rollback_is_completed_and_recorded_by_status(home, instance, patch):
    train_tiny(instance, 1.0)
    train_tiny(instance, 2.0)
    assert tracking.aliases(uri(), MODEL) == {"champion": "2", "previous": "1", "challenger": "2"}
    kill_child(
        textwrap.dedent(patch),
        """
        from fpl_platform.cli import main
        main(["rollback", "match_outcome"])
        """,
    )
    [_, removed] = tracking.model_versions(uri(), MODEL)
    intent = json.loads(removed.tags[promotion.ROLLBACK_TAG])
    assert (intent["from"], intent["to"], intent["earlier"]) == ("2", "1", None) and intent["dagster_run_id"]
    assert tracking.aliases(uri(), MODEL)["champion"] == "1"

    text = status_command()
    assert "rollback of champion 2 to 1 was completed" in text and champions_printed(text) == {"1"}, text
    assert tracking.aliases(uri(), MODEL) == {"champion": "1", "rolled_back": "2", "challenger": "2"}
    events = assert_agree(home)
    last = events.iloc[-1]
    assert (last["trigger"], last["decision"], last["champion_before"], last["champion_after"]) == (
        "rollback",
        "rolled_back",
        "2",
        "1",
    )
    assert last["dagster_run_id"] == intent["dagster_run_id"] and promotion.RECONCILED in last["reason"]
    before = fingerprint(home)
    assert reconcile_again(home) == []
    assert fingerprint(home) == before


def test_a_real_training_killed_after_its_alias_move_is_recorded_as_it_would_have_been(home, instance):
    """ml/match_outcome_model as `fpl-platform demo --quick` trains it, killed where the probe found champion 11."""
    from fpl_platform.runtime import QUICK

    warehouse = home
    resources = resources_for(warehouse)
    materialise(["raw/matches", "raw/player_gameweeks"], resources, instance, seasons=("2019-20", "2025-26"))
    materialise(["raw/fixtures", "raw/teams", "features/team_ratings", "features/match_features"], resources, instance)
    kill_child(
        KILL_AT["records"],
        f"""
        from fpl_platform.runtime import run_assets
        with dg.DagsterInstance.get() as instance:
            run_assets(
                dg.AssetSelection.assets(["ml", "match_outcome_model"]), instance, tags={{}},
                run_config={{"ops": {{"ml__match_outcome_model": {QUICK["ml__match_outcome_model"]!r}}}}},
                raise_on_error=True,
            )
        """,
    )
    assert tracking.aliases(uri(), MODEL) == {"champion": "1", "challenger": "1"}
    assert not warehouse.exists("ml.match_outcome_model")
    [run] = tracking.runs(uri(), MODEL)
    assert run.info.status == "FINISHED"  # the decision was tagged and the run ended before the aliases moved

    text = status_command()
    assert champions_printed(text) == {"1"}, text
    events = assert_agree(warehouse)
    assert events[["challenger_version", "decision", "champion_before", "champion_after"]].values.tolist() == [
        ["1", "promoted", None, "1"]
    ]
    assert events["mlflow_run_id"].iat[0] == run.info.run_id and promotion.RECONCILED in events["reason"].iat[0]
    row = warehouse.read("SELECT * FROM ml.match_outcome_model").iloc[0]
    assert row["dagster_run_id"] == run.data.tags["dagster_run_id"] and row["candidate"] == run.data.params["candidate"]
    assert str(row["data_cutoff"]) == run.data.params["data_cutoff"] and row["training_rows"] == int(
        run.data.params["training_rows"]
    )
    before = fingerprint(warehouse)
    assert reconcile_again(warehouse) == []
    assert fingerprint(warehouse) == before
