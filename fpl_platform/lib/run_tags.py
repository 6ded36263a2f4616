"""Run tags that more than one domain (or the command line) reads or writes: their names live here only."""

# why a retrain run started: scheduled, drift, performance, emergency, manual, new_data or rollback
TRIGGER_TAG = "fpl_platform/trigger"
# what the trigger saw (a drift report, a performance breach, a schedule tick), shown with the gate's decision
EVIDENCE_TAG = "fpl_platform/evidence"
# the model a retrain job trains ("all" for the weekly retrain of both)
RETRAIN_MODEL_TAG = "fpl_platform/retrain_model"
# the run's state of time (lib.clock.Clock): a replay's runs carry all three, a production run none
SIMULATED_AT_TAG = "fpl_platform/simulated_at"  # the frozen "now", ISO 8601
AS_OF_TAG = "fpl_platform/as_of"  # the data cutoff '<season>:<gameweek>'
REVEAL_TAG = "fpl_platform/reveal"  # the replay's source shows results up to '<season>:<gameweek>'
