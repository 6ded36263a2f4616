"""The season replay: a bundled season lived through gameweek by gameweek by the real sensors, schedule and gates."""
