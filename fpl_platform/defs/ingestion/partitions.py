"""Season partitions shared by the season-partitioned raw tables."""

import dagster as dg

from fpl_platform.lib.seasons import ALL_SEASONS

season_partitions = dg.StaticPartitionsDefinition(ALL_SEASONS)
