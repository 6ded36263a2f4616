"""The analyst copy: analytics.duckdb, published atomically after runs that changed tables."""

import dagster as dg

from fpl_platform.resources import Warehouse


@dg.op(pool="duckdb")
def publish_analytics_copy(context: dg.OpExecutionContext, warehouse: Warehouse) -> None:
    """Copy every warehouse table into analytics.duckdb and swap it in atomically."""
    counts = warehouse.publish(note=f"dagster run {context.run_id}")
    context.log.info(f"published {warehouse.analytics_file}: {len(counts)} tables, {sum(counts.values())} rows")


@dg.job(tags={"fpl_platform/kind": "publish"})
def publish_analytics_job():
    """Publish the analyst copy of the warehouse."""
    publish_analytics_copy()
