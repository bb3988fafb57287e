"""Fetch a PhysioNet-style PTB-XL file tree (HTTP(S) or local folder) and verify it against SHA256SUMS.txt.

Files go to a staging folder beside the destination (see `transfer` for one file). A run that is interrupted
keeps every verified file, so the next run fetches only what is missing; the staging folder is renamed to the
destination only when complete. A source that lacks some records stops the download, or, with
`download.allow_missing`, is used without them: they are listed in `missing_records.json` in the tree, and
preprocess leaves them out and reports them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ptbxl_multimodal.config.sections import DownloadSettings
from ptbxl_multimodal.data.metadata import COLUMNS as METADATA
from ptbxl_multimodal.data.table_checks import FILE_COLUMNS, raise_problems, structural_problems
from ptbxl_multimodal.data.transfer import LOCAL_HINT, Limits, MissingAtSource, Source, fetch_file
from ptbxl_multimodal.errors import FetchError
from ptbxl_multimodal.io.atomic import output_error

log = logging.getLogger(__name__)

CHECKSUMS = "SHA256SUMS.txt"
DATABASE = "ptbxl_database.csv"
STATEMENTS = "scp_statements.csv"
MISSING = "missing_records.json"  # written into the tree: records the source lacked (allow_missing)
RECORD_COLUMN = {100: "filename_lr", 500: "filename_hr"}
ALLOW_HINT = (
    "set download.allow_missing: true to go on without such records (they are then listed in data/raw/" + MISSING + ")"
)


def parse_checksums(path: Path, where: str) -> dict[str, str]:
    """Map relative path -> sha256 from a PhysioNet `SHA256SUMS.txt` (`<hash> <path>` per line)."""
    sums: dict[str, str] = {}
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        text = "\0"
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            looks_html = "<html" in text[:2000].lower() or "<!doctype" in text[:2000].lower()
            what = "an HTML page" if looks_html else "not a checksum list"
            raise FetchError(
                f"{where}: line {lineno} is not a '<sha256> <path>' line ({line[:60]!r}): the source returned {what}. "
                f"Check that download.source points at the PTB-XL tree itself (the folder holding {DATABASE} and "
                f"{CHECKSUMS}), not a web page about it. {LOCAL_HINT}"
            )
        sums[parts[1].strip().lstrip("*")] = parts[0].lower()
    return sums


def record_files(database_csv: Path, sampling_rate: int, source: str) -> dict[int, list[str]]:
    """The .hea and .dat files of every record listed in ptbxl_database.csv at one sampling rate, by ecg_id.

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
    return {int(e): [f"{name}.{ext}" for ext in ("hea", "dat")] for e, name in zip(db["ecg_id"], db[column])}


def staging_dir(dest: Path) -> Path:
    """Where files accumulate until the whole tree is verified (kept between interrupted runs)."""
    return dest.with_name(f".{dest.name}.partial")


def fetch_ptbxl(settings: DownloadSettings, dest: Path, backoff: float = 0.5) -> dict[str, int]:
    """Fetch and verify the metadata and the records of one sampling rate into `dest`.

    Returns counts of files fetched, of files reused from an earlier interrupted run, and of records the
    source lacked. `backoff` is the first retry's wait in seconds (doubling with each retry).
    """
    source = Source(settings.source)
    limits = Limits(settings.retries, settings.timeout, settings.file_deadline, backoff)
    if not source.is_http and not Path(source.locate("")).is_dir():
        raise FetchError(f"download.source = {settings.source!r}: no such folder. {LOCAL_HINT}")
    stage = staging_dir(dest)
    try:
        stage.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(stage, exc) from None
    log.info("fetching PTB-XL (%d Hz records) from %s", settings.sampling_rate, settings.source)

    # The checksum list cannot verify itself; fetch it fresh each time.
    _fetch_required(source, CHECKSUMS, stage, None, limits)
    sums = parse_checksums(stage / CHECKSUMS, source.locate(CHECKSUMS))
    fetched = _fetch_tables(source, stage, sums, limits)
    per_record = record_files(stage / DATABASE, settings.sampling_rate, source.locate(DATABASE))
    missing: dict[int, str] = {}
    for eid, files in per_record.items():
        unlisted = [f for f in files if f not in sums]
        if unlisted:
            _missing(settings, eid, f"{unlisted[0]}: not listed in {CHECKSUMS}", missing)
    todo = [(eid, rel) for eid, files in per_record.items() if eid not in missing for rel in files]
    fetched += _fetch_records(settings, source, stage, sums, limits, todo, missing)
    wanted = {CHECKSUMS, DATABASE, STATEMENTS, MISSING} | {rel for eid, rel in todo if eid not in missing}
    _publish(stage, dest, wanted, missing)
    if missing:
        log.warning("%d record(s) missing at the source were left out (listed in %s)", len(missing), dest / MISSING)
    verified = len(wanted - {CHECKSUMS, MISSING})  # verified against the checksum list
    log.info("verified %d files (%d fetched, %d already present)", verified, fetched, verified - fetched)
    return {"files": verified, "fetched": fetched, "reused": verified - fetched, "missing_records": len(missing)}


def _fetch_tables(source: Source, stage: Path, sums: dict[str, str], limits: Limits) -> int:
    """The database and the statements tables, verified (the database says which records to fetch); how many
    were fetched rather than found intact."""
    fetched = 0
    for rel in (DATABASE, STATEMENTS):
        if rel not in sums:
            raise FetchError(
                f"{rel}: not listed in {CHECKSUMS}, so it cannot be verified; is the source a complete PTB-XL tree?"
            )
        fetched += _fetch_required(source, rel, stage, sums[rel], limits)
    return fetched


def _fetch_records(
    settings: DownloadSettings,
    source: Source,
    stage: Path,
    sums: dict[str, str],
    limits: Limits,
    todo: list[tuple[int, str]],
    missing: dict[int, str],
) -> int:
    """Fetch and verify every (record, file) in `todo` in parallel; a record the source lacks goes to `missing`
    (or fails the run, download.allow_missing), any other failure cancels the rest. How many were fetched."""
    fetched = 0
    with (
        ThreadPoolExecutor(max_workers=settings.workers) as pool,
        tqdm(total=len(todo), desc="download", unit="file") as bar,
    ):
        futures = {pool.submit(fetch_file, source, rel, stage, sums[rel], limits): eid for eid, rel in todo}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in done:
                error = fut.exception()
                if isinstance(error, MissingAtSource):
                    _missing(settings, futures[fut], str(error), missing)
                elif error is not None:
                    for other in pending:
                        other.cancel()
                    raise error
                else:
                    fetched += fut.result()
                bar.update(1)
    return fetched


def _publish(stage: Path, dest: Path, wanted: set[str], missing: dict[int, str]) -> None:
    """List the missing records, drop what the tree no longer needs, and move the staging folder into place."""
    try:
        (stage / MISSING).write_text(
            json.dumps(
                {"count": len(missing), "records": [{"ecg_id": e, "problem": missing[e]} for e in sorted(missing)]},
                indent=2,
            )
            + "\n"
        )
        _prune(stage, wanted)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(stage, dest)
    except OSError as exc:
        raise output_error(dest, exc) from None


def _fetch_required(source: Source, rel: str, stage: Path, expected: str | None, limits: Limits) -> bool:
    """A file the tree cannot do without: missing at the source is an error naming download.source."""
    try:
        return fetch_file(source, rel, stage, expected, limits)
    except MissingAtSource as exc:
        raise FetchError(
            f"{exc}. Check that download.source points at the PTB-XL tree (the folder holding {DATABASE}). {LOCAL_HINT}"
        ) from None


def _missing(settings: DownloadSettings, ecg_id: int, problem: str, missing: dict[int, str]) -> None:
    """Note a record the source lacks, or stop if that is not allowed."""
    if not settings.allow_missing:
        raise FetchError(
            f"record {ecg_id}: {problem}; the source {settings.source} is incomplete for "
            f"{settings.sampling_rate} Hz records. Complete the copy, or {ALLOW_HINT}"
        )
    missing[ecg_id] = problem


def _prune(root: Path, keep: set[str]) -> None:
    """Remove files an earlier run left that this run does not want (e.g. the other sampling rate)."""
    for path in sorted(root.rglob("*"), reverse=True):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel not in keep:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
