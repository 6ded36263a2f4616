"""A/B test analysis and gradual rollout: `monitoring/ab_results` after every gameweek's results."""

from typing import TYPE_CHECKING

import dagster as dg

from fpl_platform.lib import schemas
from fpl_platform.lib.models import MODELS
from fpl_platform.resources import Notifier, RunClock, Warehouse, warehouse_step

if TYPE_CHECKING:
    import pandas as pd


def item_losses(warehouse: Warehouse, test) -> "pd.DataFrame":
    """monitoring.ab_losses rows of one test: every assigned item whose outcome is known, both models' losses."""
    import numpy as np
    import pandas as pd

    model = MODELS[test["model_name"]]
    rows = warehouse.read(model.ab_outcomes_sql, [test["test_name"]])
    control, treatment = model.arm_loss(rows, "control"), model.arm_loss(rows, "treatment")
    return pd.DataFrame(
        {
            "test_name": rows["test_name"],
            "item_key": rows["item_key"],
            "season": rows["season"],
            "gameweek": rows["gameweek"],
            "arm": rows["arm"],
            "control_loss": control,
            "treatment_loss": treatment,
            "served_loss": np.where(rows["arm"] == "treatment", treatment, control),
            "traffic_split": rows["traffic_split"],
        }
    )


def as_of_order(label: str) -> tuple[str, int]:
    season, gameweek = label.split(":")
    return season, int(gameweek)


def evaluate(warehouse: Warehouse, test, *, resamples: int = 2000):
    """(losses, analysis, as_of) of one test from what is stored; None when no item has an outcome yet."""
    import pandas as pd

    from fpl_platform.lib import ab

    losses = item_losses(warehouse, test)
    if losses.empty:
        return None
    latest = losses.sort_values(["season", "gameweek"]).iloc[-1]
    as_of = f"{latest['season']}:{int(latest['gameweek'])}"
    end = test["end_as_of"]
    ended = isinstance(end, str) and bool(end) and as_of_order(as_of) >= as_of_order(end)
    target = None if pd.isna(test["target_size"]) else int(test["target_size"])
    analysis = ab.analyse(
        losses.assign(gameweek=losses["season"] + ":" + losses["gameweek"].astype(str)),
        alpha=float(test["alpha"]),
        target_size=target,
        ended=ended,
        resamples=resamples,
    )
    return losses, analysis, as_of


class AbResultsConfig(dg.Config):
    """Bootstrap resamples of the gameweek-resampled CI."""

    resamples: int = 2000


@dg.asset(
    key=["monitoring", "ab_results"],
    # runs before the predictions (they depend on it): a rollback or a raised split applies to the very next
    # gameweek served; it reads the assignments earlier prediction runs recorded, not this run's
    deps=[["features", "match_features"], ["features", "player_features"]],
    group_name="monitoring",
    kinds={"duckdb", "scipy"},
    pool="duckdb",
)
@warehouse_step
def ab_results(
    context: dg.AssetExecutionContext,
    config: AbResultsConfig,
    warehouse: Warehouse,
    notifier: Notifier,
    clock: RunClock,
) -> dg.MaterializeResult:
    """Analyse every running A/B test on its evaluated items; raise its traffic step by step while the treatment
    is not worse, roll it back (with an alert) when it is significantly worse, complete it at its stopping rule."""
    import pandas as pd

    from fpl_platform.lib import ab
    from fpl_platform.lib.notify import Alert

    if not warehouse.exists(schemas.AB_TESTS.name):
        # a materialised asset has its tables, empty until a test is created
        warehouse.ensure(schemas.AB_TESTS, schemas.AB_ASSIGNMENTS, schemas.AB_LOSSES, schemas.AB_RESULTS)
        return dg.MaterializeResult(metadata={"tests": 0, "note": "no A/B test defined (fpl-platform ab-test create)"})
    tests = warehouse.read("SELECT * FROM monitoring.ab_tests WHERE status = 'running' ORDER BY test_name")
    now = clock.now()
    summaries = {}
    for _, test in tests.iterrows():
        evaluated = evaluate(warehouse, test, resamples=config.resamples)
        if evaluated is None:
            context.log.info(f"A/B test {test['test_name']}: no item with an outcome yet")
            continue
        losses, analysis, as_of = evaluated
        updated = test.copy()
        split = float(test["traffic_split"])
        action, alert = "none", None
        if analysis.dm_p_worse < float(test["alpha"]):
            action = "rolled_back"
            updated["status"], updated["traffic_split"], updated["ended_at"] = "rolled_back", 0.0, now
            updated["note"] = f"rolled back at {as_of}: {analysis.reason}"
            alert = ("HIGH", f"A/B test {test['test_name']} rolled back: the treatment is significantly worse")
        elif analysis.recommendation != "continue":
            action = "completed"
            updated["status"], updated["ended_at"] = "completed", now
            updated["note"] = f"completed at {as_of}: {analysis.recommendation} ({analysis.reason})"
            alert = ("MEDIUM", f"A/B test {test['test_name']} completed: {analysis.recommendation}")
        else:
            steps = ab.parse_steps(test["rollout_steps"]) if isinstance(test["rollout_steps"], str) else []
            following = ab.next_split(split, steps)
            at_split = losses.loc[(losses["traffic_split"] - split).abs() < 1e-12, ["season", "gameweek"]].drop_duplicates()
            if following is not None and len(at_split) >= int(test["min_gameweeks_per_step"]):
                action = "raised_split"
                updated["traffic_split"] = following
                updated["note"] = (
                    f"split raised {split:.2f} → {following:.2f} at {as_of}: not worse after {len(at_split)} gameweek(s) "
                    f"(DM p worse = {analysis.dm_p_worse:.3f})"
                )
                alert = ("LOW", f"A/B test {test['test_name']}: treatment share raised to {following:.0%}")
        result = pd.DataFrame(
            [
                {
                    "test_name": test["test_name"],
                    "as_of": as_of,
                    "evaluated_at": now,
                    "model_name": test["model_name"],
                    "metric": MODELS[test["model_name"]].ab_loss,
                    "treatment_version": str(test["treatment_version"]),
                    "traffic_split": split,
                    **analysis.as_row(),
                    "action": action,
                }
            ]
        )
        warehouse.upsert(
            (schemas.AB_LOSSES, losses.drop(columns="traffic_split")),
            (schemas.AB_RESULTS, result),
            (schemas.AB_TESTS, ab.test_frame(updated.to_dict())),
            source="monitoring.ab_results",
        )
        if alert is not None:
            severity, title = alert
            notifier.notify(
                Alert(
                    key=f"ab_test:{test['test_name']}:{action}",
                    title=title,
                    severity=severity,
                    message=analysis.reason,
                    metric="mean_difference",
                    value=analysis.mean_difference,
                    threshold=0.0,
                    details={"as_of": as_of, "items": analysis.n_items, "recommendation": analysis.recommendation},
                ),
                warehouse,
                now,
            )
        summaries[str(test["test_name"])] = {
            "as_of": as_of,
            "items": analysis.n_items,
            "mean_difference": round(analysis.mean_difference, 6),
            "ci": [round(analysis.ci_low, 6), round(analysis.ci_high, 6)],
            "dm_p_better": round(analysis.dm_p_better, 4),
            "recommendation": analysis.recommendation,
            "action": action,
        }
        context.log.info(f"A/B test {test['test_name']} at {as_of}: {analysis.recommendation} ({analysis.reason}); {action}")
    return dg.MaterializeResult(metadata={"tests": len(summaries), "results": dg.MetadataValue.json(summaries)})
