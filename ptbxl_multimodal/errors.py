"""Every error a user can fix, in one place; stage entry points print these as one line, without a traceback."""


class PipelineError(Exception):
    """Bad input, bad parameters or an unusable environment, with a message saying what to do."""


class ParamError(PipelineError, ValueError):
    """params.yaml is invalid; the message lists every problem found."""


class StageError(PipelineError, RuntimeError):
    """A stage's inputs are missing or inconsistent (e.g. outputs of an older run); the message says what to do."""


class FetchError(PipelineError, RuntimeError):
    """The source could not deliver a file intact; the message names the URL/file and what to do."""


class RecordError(PipelineError, ValueError):
    """A record is corrupt, truncated or inconsistent; the message names it and says what to do."""

    def __init__(self, record: str, problem: str):
        super().__init__(f"record {record}: {problem}")
        self.record = record
        self.problem = problem


class LabelError(PipelineError, ValueError):
    """The metadata tables are unreadable or inconsistent; the message names the file or record."""


class OutputError(PipelineError, OSError):
    """An output cannot be written (unwritable folder, disk full); the message says what to do."""


class TrainingError(PipelineError):
    """Training cannot go on (e.g. the loss became NaN); says where and what to try."""
