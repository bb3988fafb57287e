"""The one base class of every error a user can fix; stage entry points print these without a traceback."""


class PipelineError(Exception):
    """Bad input, bad parameters or an unusable environment, with a message saying what to do."""
