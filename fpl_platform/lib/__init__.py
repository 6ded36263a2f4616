"""Pure football, data and statistics logic: no Dagster imports here."""
