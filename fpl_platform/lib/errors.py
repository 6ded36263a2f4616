"""Errors raised when input data is not what the platform expects."""

from __future__ import annotations


class DataValidationError(ValueError):
    """Input data failed validation; the message names the file (or URL), row and field."""

    def __init__(self, source: str, problem: str, *, row: int | None = None, field: str | None = None):
        self.source = source
        self.row = row
        self.field = field
        self.problem = problem
        where = [source if "://" in source else f"file {source!r}"]  # a URL reads as itself, not as a file name
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field {field!r}")
        super().__init__(f"{', '.join(where)}: {problem}")


class UnknownTeamError(DataValidationError):
    """A team name that the canonical team table does not know."""


class SourceUnavailableError(RuntimeError):
    """A live source could not be reached after retries."""


class SettingError(ValueError):
    """A command-line argument or environment variable holds a value the platform cannot use.

    The message names the setting, the value given and what is expected, on one line: the CLI prints it
    as it is, before any run starts.
    """

    def __init__(self, setting: str, value: object, expected: str):
        self.setting = setting
        self.value = value
        self.expected = expected
        super().__init__(f"{setting} is {value!r}; expected {expected}")
