"""New data: when the source has results or fixtures the warehouse lacks, ingest them and refresh downstream."""

import dagster as dg

from fpl_platform.defs.ingestion.jobs import ingest_season_job, refresh_job
from fpl_platform.resources import FplSource, RunClock, Warehouse


def fixtures_fingerprint(frame) -> str:
    """A digest of a season's fixtures (ids, gameweeks, kickoffs, finished flags) to compare source and warehouse."""
    import hashlib

    import pandas as pd

    kickoff = pd.to_datetime(frame["kickoff"], utc=True)
    lines = sorted(
        f"{m}|{'' if pd.isna(g) else int(g)}|{'' if pd.isna(k) else k.isoformat()}|{bool(f)}"
        for m, g, k, f in zip(frame["match_id"], frame["gameweek"], kickoff, frame["finished"], strict=True)
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


@dg.sensor(jobs=[ingest_season_job], default_status=dg.DefaultSensorStatus.RUNNING, minimum_interval_seconds=900)
def new_data_sensor(
    context: dg.SensorEvaluationContext, warehouse: Warehouse, fpl_source: FplSource, clock: RunClock
) -> dg.SensorResult:
    """Request ingestion of the newest season when the source's results or fixtures differ from the warehouse's."""
    from fpl_platform.lib.automation import dump_cursor, load_cursor

    state = load_cursor(context.cursor, {"requested": ""})
    try:
        fixtures = fpl_source.source(clock).fixtures()
    except Exception as error:  # an unreachable source is a reason to skip this tick, not to crash the sensor
        return dg.SensorResult(cursor=dump_cursor(state), skip_reason=f"source unavailable: {type(error).__name__}: {error}")
    season = fixtures["season"].max()
    season_fixtures = fixtures[fixtures["season"] == season]
    finished = int(season_fixtures["finished"].sum())
    source_print = fixtures_fingerprint(season_fixtures)
    stored_results, stored_print = 0, ""
    with warehouse.session():  # one open for the reads; not held while the source is fetched above
        if warehouse.exists("raw.matches"):
            stored_results = int(warehouse.read("SELECT count(*) AS n FROM raw.matches WHERE season = ?", [season])["n"].iat[0])
        if warehouse.exists("raw.fixtures"):
            stored_print = fixtures_fingerprint(warehouse.read("SELECT * FROM raw.fixtures WHERE season = ?", [season]))
    if stored_results >= finished and stored_print == source_print:
        return dg.SensorResult(
            cursor=dump_cursor(state),
            skip_reason=f"warehouse is up to date with the source for {season} ({stored_results} results, fixtures {source_print})",
        )
    evidence = f"{season}: source has {finished} finished fixtures (warehouse {stored_results} results), fixtures {source_print} (warehouse {stored_print or 'none'})"
    state["requested"] = source_print
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"new-data-{season}-{finished}-{source_print}",
                partition_key=season,
                tags={"fpl_platform/trigger": "new_data", "fpl_platform/evidence": evidence},
            )
        ],
        cursor=dump_cursor(state),
    )


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[ingest_season_job],
    request_job=refresh_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def refresh_after_ingestion(context: dg.RunStatusSensorContext):
    """After a successful season ingestion, refresh fixtures, features, predictions, performance and drift."""
    run = context.dagster_run
    if run.job_name != ingest_season_job.name:  # the daemon filters by monitored_jobs; a replay evaluates every run
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} is not a season ingestion")
    return dg.RunRequest(
        run_key=f"refresh-after-{run.run_id}",
        tags={
            "fpl_platform/trigger": "new_data",
            "fpl_platform/evidence": run.tags.get("fpl_platform/evidence", f"ingestion run {run.run_id}"),
            "fpl_platform/after_run": run.run_id,
        },
    )
