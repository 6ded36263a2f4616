"""The console logger of every run: one line per message, at most 200 characters, details in the run's events.

Dagster's default console line spends about 120 characters on the date, job name, run id and process id
before the message. Here a line is the time, the step (asset key) and the message's first line; an error
adds its type and first line. The whole message and the stack trace stay in the event log and the UI.
"""

from __future__ import annotations

import logging
import sys

import dagster as dg

WIDTH = 200


class CompactFormatter(logging.Formatter):
    """`HH:MM:SS step  message` on one line, cut at WIDTH characters."""

    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        step = (meta.get("step_key") or meta.get("job_name") or "").replace("__", "/")
        message = str(meta.get("orig_message") or record.getMessage())
        event = meta.get("dagster_event")
        error = getattr(getattr(event, "event_specific_data", None), "error", None)
        if error is not None:
            while error.cause is not None and error.cls_name == "DagsterExecutionStepExecutionError":
                error = error.cause  # the user code's error, not Dagster's wrapper around it
            message = f"{message.splitlines()[0] if message else ''} {error.cls_name}: {error.message.strip()}"
        level = "" if record.levelno == logging.INFO else f"{record.levelname} "
        line = f"{self.formatTime(record, '%H:%M:%S')} {step:<28} {level}{' '.join(message.split())}"
        return line if len(line) <= WIDTH else line[: WIDTH - 1] + "…"


@dg.logger(
    {"log_level": dg.Field(str, is_required=False, default_value="INFO", description="The logger's threshold.")},
    description="One line per message on stderr: time, step, message (at most 200 characters).",
)
def compact_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("fpl_platform", level=init_context.logger_config["log_level"].upper())
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(CompactFormatter())
    logger.addHandler(handler)
    return logger
