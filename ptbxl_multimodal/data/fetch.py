"""Fetch a PhysioNet-style PTB-XL file tree (HTTP(S) or local folder) and verify it against SHA256SUMS.txt.

Files go to a staging folder beside the destination, each written as `<name>.part` and renamed
once its checksum matches. A run that is interrupted keeps every verified file, so the next run
fetches only what is missing; the staging folder is renamed to the destination only when complete.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
from tqdm import tqdm

from ptbxl_multimodal.data.metadata import COLUMNS as METADATA
from ptbxl_multimodal.data.table_checks import FILE_COLUMNS, raise_problems, structural_problems
from ptbxl_multimodal.errors import FetchError
from ptbxl_multimodal.schema import setting

log = logging.getLogger(__name__)

CHECKSUMS = "SHA256SUMS.txt"
DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
RECORD_COLUMN = {100: "filename_lr", 500: "filename_hr"}
LOCAL_HINT = (
    "To use a copy already on this machine, point the stage at it, e.g. "
    "`dvc exp run -S download.source=/path/to/ptb-xl` (the folder that holds ptbxl_database.csv)."
)


@dataclass(frozen=True)
class DownloadSettings:
    """params.yaml `download`: where PTB-XL comes from and how it is fetched."""

    source: str = setting(nonempty=True)  # URL of a PhysioNet-style tree, or a local folder
    sampling_rate: Literal[100, 500]
    workers: int = setting(ge=1)
    retries: int = setting(ge=0)
    timeout: float = setting(gt=0)  # seconds per request


class _Transient(Exception):
    """A failure worth retrying (connection reset, timeout, 5xx, checksum mismatch)."""


@dataclass(frozen=True)
class Source:
    """Where the PTB-XL tree lives: an HTTP(S) base URL or a local folder."""

    location: str

    @property
    def is_http(self) -> bool:
        return self.location.startswith(("http://", "https://"))

    def locate(self, rel: str) -> str:
        """The URL or local path of one file of the tree."""
        if self.is_http:
            base = self.location if self.location.endswith("/") else self.location + "/"
            return urllib.parse.urljoin(base, urllib.parse.quote(rel))
        return str(Path(self.location.removeprefix("file://")) / rel)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_checksums(path: Path) -> dict[str, str]:
    """Map relative path -> sha256 from a PhysioNet `SHA256SUMS.txt` (`<hash> <path>` per line)."""
    sums: dict[str, str] = {}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise FetchError(f"{path}:{lineno}: not a '<sha256> <path>' line: {line!r}")
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def record_files(database_csv: Path, sampling_rate: int, source: str) -> list[str]:
    """The .hea and .dat files of every record listed in ptbxl_database.csv at one sampling rate.

    The table is checked first (duplicated ids, missing folds or file names, ...: see table_checks), so a
    broken table stops the download before any record is fetched; `source` names it in the message.
    """
    column = RECORD_COLUMN[sampling_rate]
    try:
        db = pd.read_csv(database_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise FetchError(f"{source}: unreadable CSV ({exc}); is this PTB-XL's ptbxl_database.csv?") from None
    missing = [c for c in ("ecg_id", "patient_id", "strat_fold", *FILE_COLUMNS, *METADATA) if c not in db.columns]
    if missing:
        raise FetchError(f"{source}: no column(s) {', '.join(missing)}; is this PTB-XL's ptbxl_database.csv?")
    raise_problems(source, structural_problems(db), "Fix the table at the source, or use another copy of PTB-XL")
    return [f"{name}.{ext}" for name in db[column] for ext in ("hea", "dat")]


def _copy_once(source: Source, rel: str, part: Path, timeout: float) -> None:
    where = source.locate(rel)
    if not source.is_http:
        if not Path(where).is_file():
            raise FetchError(f"{where}: file not found in the local source. {LOCAL_HINT}")
        shutil.copyfile(where, part)
        return
    try:
        with urllib.request.urlopen(where, timeout=timeout) as response, open(part, "wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except urllib.error.HTTPError as exc:
        if exc.code in (408, 429) or exc.code >= 500:
            raise _Transient(f"{where}: HTTP {exc.code}") from None
        raise FetchError(
            f"{where}: HTTP {exc.code} {exc.reason}. Check that download.source points at the PTB-XL tree "
            f"(the folder holding {DATABASE}). {LOCAL_HINT}"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Transient(f"{where}: {reason}") from None


def fetch_file(
    source: Source, rel: str, dest: Path, expected: str | None, retries: int, timeout: float, backoff: float = 0.5
) -> bool:
    """Fetch one file to dest/rel unless already there and verified; return True if it was fetched."""
    target = dest / rel
    if target.exists() and expected is not None and sha256_of(target) == expected:
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    last = ""
    for attempt in range(retries + 1):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            _copy_once(source, rel, part, timeout)
            if expected is not None:
                got = sha256_of(part)
                if got != expected:
                    raise _Transient(f"{source.locate(rel)}: checksum mismatch (expected {expected}, got {got})")
            os.replace(part, target)
            return True
        except _Transient as exc:
            last = str(exc)
            log.warning("attempt %d/%d failed: %s", attempt + 1, retries + 1, last)
        finally:
            part.unlink(missing_ok=True)
    unreachable = "checksum mismatch" not in last
    advice = (
        f"The source could not be reached. {LOCAL_HINT}"
        if unreachable
        else f"The file keeps arriving different from {CHECKSUMS}: the source copy is corrupt or the wrong version. "
        f"Repair or re-download it there, or use another source. {LOCAL_HINT}"
    )
    raise FetchError(f"{rel}: failed after {retries + 1} attempts ({last}). {advice}")


def staging_dir(dest: Path) -> Path:
    """Where files accumulate until the whole tree is verified (kept between interrupted runs)."""
    return dest.with_name(f".{dest.name}.partial")


def fetch_ptbxl(settings: DownloadSettings, dest: Path, backoff: float = 0.5) -> dict[str, int]:
    """Fetch and verify the metadata and the records of one sampling rate into `dest`.

    Returns counts of files fetched and of files reused from an earlier interrupted run. `backoff` is the
    first retry's wait in seconds (doubling with each retry).
    """
    location, sampling_rate, workers = settings.source, settings.sampling_rate, settings.workers
    retries, timeout = settings.retries, settings.timeout
    source = Source(location)
    if not source.is_http and not Path(source.locate("")).is_dir():
        raise FetchError(f"download.source = {location!r}: no such folder. {LOCAL_HINT}")
    stage = staging_dir(dest)
    stage.mkdir(parents=True, exist_ok=True)
    log.info("fetching PTB-XL (%d Hz records) from %s", sampling_rate, location)

    # The checksum list cannot verify itself; fetch it fresh each time.
    fetch_file(source, CHECKSUMS, stage, None, retries, timeout, backoff)
    sums = parse_checksums(stage / CHECKSUMS)
    meta_files = [DATABASE, STATEMENTS]
    fetched = 0
    for rel in meta_files:  # first: the database says which records to fetch
        _require_listed(rel, sums)
        fetched += fetch_file(source, rel, stage, sums[rel], retries, timeout, backoff)
    records = record_files(stage / DATABASE, sampling_rate, source.locate(DATABASE))
    for rel in records:
        _require_listed(rel, sums)
    wanted = meta_files + records

    with ThreadPoolExecutor(max_workers=workers) as pool, tqdm(total=len(records), desc="download", unit="file") as bar:
        futures = [pool.submit(fetch_file, source, rel, stage, sums[rel], retries, timeout, backoff) for rel in records]
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                if fut.exception() is not None:
                    for other in pending:
                        other.cancel()
                    raise fut.exception()
                fetched += fut.result()
                bar.update(1)

    _prune(stage, set(wanted) | {CHECKSUMS})
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(stage, dest)
    log.info("verified %d files (%d fetched, %d already present)", len(wanted), fetched, len(wanted) - fetched)
    return {"files": len(wanted), "fetched": fetched, "reused": len(wanted) - fetched}


def _require_listed(rel: str, sums: dict[str, str]) -> None:
    if rel not in sums:
        raise FetchError(
            f"{rel}: not listed in {CHECKSUMS}, so it cannot be verified; is the source a complete PTB-XL tree?"
        )


def _prune(root: Path, keep: set[str]) -> None:
    """Remove files an earlier run left that this run does not want (e.g. the other sampling rate)."""
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
