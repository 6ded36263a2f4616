"""One folder per domain; each exports `defs`."""

import warnings

import dagster as dg

# single-run backfills of season ranges (BackfillPolicy) are beta in dagster 1.13; we rely on them knowingly
warnings.filterwarnings("ignore", category=dg.BetaWarning)
