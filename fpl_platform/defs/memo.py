"""What an asset remembers between its own materialisations: values it recorded in its last metadata.

Incremental assets (features rebuilt from the first changed season, a candidate selection reused while its
inputs are unchanged) store a digest of their inputs in their materialisation metadata and read it back
on the next run; the instance is the memory, so a fresh instance simply recomputes everything.
"""

import dagster as dg


def previous_metadata(context: dg.AssetExecutionContext, name: str):
    """The value of metadata entry `name` on this asset's last successful materialisation (None if none)."""
    event = context.instance.get_latest_materialization_event(context.asset_key)
    if event is None or event.asset_materialization is None:
        return None
    entry = event.asset_materialization.metadata.get(name)
    return entry.value if entry is not None else None
