"""What every stage entry point shares: logging, SIGTERM handling and clear error exits."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable

from ptbxl_multimodal.errors import PipelineError

log = logging.getLogger("stages")


def _terminate(signum, frame):  # noqa: ANN001 - signal handler signature
    # Turn SIGTERM into an exception so `finally` blocks and atomic writers delete temporary outputs.
    raise SystemExit(128 + signum)


def run_stage(main: Callable[[], None]) -> None:
    """Run a stage's main(): INFO logging, SIGTERM -> clean exit, user-fixable errors -> one clear line, exit 1."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except PipelineError as exc:
        log.error("%s", exc)
        sys.exit(1)
    except FileNotFoundError as exc:  # an input of an earlier stage that is not there
        log.error("%s: not found; run the stages that make it first (`dvc repro`)", exc.filename or exc)
        sys.exit(1)
