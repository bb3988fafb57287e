"""Write outputs under a temporary name and rename them into place only when complete.

A killed stage (SIGTERM, SIGKILL, a crash) then never leaves a half-written file at an output
path for DVC to cache or for the next stage to read.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ptbxl_multimodal.errors import OutputError

TMP_MARK = ".tmp-"


def output_error(path: Path, exc: OSError) -> OutputError:
    """The user-facing error for a failed write of `path` (full disk, file-size limit, permissions)."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return OutputError(f"{path}: no space left on the device; free some disk space and run the stage again")
    if exc.errno == errno.EFBIG:
        return OutputError(
            f"{path}: the file outgrew this process's file-size limit (see `ulimit -f`); raise the limit or free "
            "space and run the stage again"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(
            f"{path}: cannot write here ({exc.strerror}); make {path.parent} writable and run the stage again"
        )
    return OutputError(f"{path}: cannot write output ({exc.strerror or exc})")


def temp_name(path: Path) -> Path:
    """The temporary sibling of `path` (same folder, so the final rename is atomic)."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


def _owner_alive(temp: Path) -> bool:
    """Whether the process that named this temporary (.<name>.tmp-<pid>) still runs (and is not us)."""
    try:
        pid = int(temp.name.rsplit(TMP_MARK, 1)[1])
    except (IndexError, ValueError):
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def remove_stale_temps(folder: Path) -> None:
    """Delete temporaries left behind by a killed run (SIGKILL leaves no chance to clean up); a temporary whose
    process still runs (a parallel run writing it right now) is left alone."""
    if folder.is_dir():
        for stale in folder.glob(f".*{TMP_MARK}*"):
            if _owner_alive(stale):
                continue
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write to; on success rename it to `path`, on failure delete it."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(path, exc) from None
    remove_stale_temps(path.parent)
    tmp = temp_name(path)
    try:
        yield tmp
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)  # os.replace cannot overwrite a non-empty folder
        os.replace(tmp, path)
    except OutputError:  # already explained (e.g. by an inner writer): keep its file name
        _cleanup(tmp)
        raise
    except OSError as exc:
        _cleanup(tmp)
        raise output_error(path, exc) from exc
    except BaseException:
        _cleanup(tmp)
        raise


def _cleanup(tmp: Path) -> None:
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    else:
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, data: Any) -> None:
    """Write JSON atomically, with sorted keys so identical data gives identical bytes."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
