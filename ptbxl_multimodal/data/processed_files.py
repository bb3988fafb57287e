"""Turn the raw PTB-XL tree into the processed HDF5 files: signals, and labels plus metadata.

Records are read, resampled and filtered in chunks by a pool of worker processes and appended to
the HDF5 file in ecg_id order, so memory stays bounded by a few chunks whatever the dataset size.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ptbxl_multimodal.config.sections import PreprocessSettings
from ptbxl_multimodal.data.fetch import MISSING, RECORD_COLUMN
from ptbxl_multimodal.data.labels import make_labels, metadata, read_database, read_statements
from ptbxl_multimodal.data.metadata import COLUMNS as METADATA_COLUMNS
from ptbxl_multimodal.data.records import LEADS, read_record
from ptbxl_multimodal.data.table_checks import handle_implausible
from ptbxl_multimodal.errors import RecordError, StageError
from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.io.atomic import atomic_path, write_json
from ptbxl_multimodal.io.pool import ChunkPool
from ptbxl_multimodal.signal.filters import FilterChain, FilterSettings, resample
from ptbxl_multimodal.signal.quality import QualitySettings, quality_problems

log = logging.getLogger(__name__)
DURATION_S = 10  # every PTB-XL record is 10 s long


@dataclass
class PreprocessReport:
    """What happened to every record of the database: written, unlabelled or skipped."""

    task: str
    classes: list[str]
    records_in_database: int
    written: int = 0
    unlabelled: list[int] = field(default_factory=list)
    not_downloaded: list[dict] = field(default_factory=list)  # the source lacked them (download.allow_missing)
    low_quality: list[dict] = field(default_factory=list)  # flat, dropout or clipped leads (preprocess.quality)
    skipped: list[dict] = field(default_factory=list)
    class_counts: dict[str, int] = field(default_factory=dict)
    implausible: list[dict] = field(default_factory=list)  # metadata values set to unknown

    def as_dict(self) -> dict:
        return {
            "task": self.task,
            "classes": self.classes,
            "records_in_database": self.records_in_database,
            "records_written": self.written,
            "unlabelled": {"count": len(self.unlabelled), "ecg_ids": self.unlabelled},
            "not_downloaded": {"count": len(self.not_downloaded), "records": self.not_downloaded},
            "low_quality": {"count": len(self.low_quality), "records": self.low_quality},
            "skipped": {"count": len(self.skipped), "records": self.skipped},
            "class_counts": self.class_counts,
            "implausible_metadata_set_missing": {"count": len(self.implausible), "values": self.implausible},
        }


def _process_chunk(
    job: tuple[list[int], list[str], int, FilterSettings, QualitySettings],
) -> tuple[list[int], np.ndarray, list[dict], list[dict]]:
    """Worker: read, check, resample and filter one chunk of records.

    Returns the ids kept, their filtered signals, the records that failed (unreadable, or unusable when the
    quality action is not `keep`) and the low-quality records kept; failures are returned, not raised.
    """
    ids, paths, source_fs, settings, quality = job
    chain = FilterChain(settings)
    good_ids, signals, failures, flagged = [], [], [], []
    n_src = DURATION_S * source_fs
    for eid, path in zip(ids, paths):
        try:
            x, _ = read_record(path, expected_fs=source_fs)
            if x.shape[1] != n_src:
                raise RecordError(
                    path, f"{x.shape[1]} samples per lead, expected {n_src} ({DURATION_S} s at {source_fs} Hz)"
                )
        except RecordError as exc:
            failures.append({"ecg_id": eid, "record": path, "problem": exc.problem, "kind": "unreadable"})
            continue
        problems = quality_problems(x, source_fs, quality, LEADS)
        if problems:
            entry = {"ecg_id": eid, "record": path, "problem": "; ".join(problems), "kind": "quality"}
            if quality.action != "keep":
                failures.append(entry)
                continue
            flagged.append(entry)
        good_ids.append(eid)
        signals.append(x)
    if not signals:
        return good_ids, np.zeros((0, len(LEADS), DURATION_S * settings.fs), np.float32), failures, flagged
    filtered = chain(resample(np.stack(signals), source_fs, settings.fs))
    finite = np.isfinite(filtered).reshape(len(filtered), -1).all(axis=1)
    if not finite.all():  # NaN is a bad number: never written, whatever the settings
        raise StageError(
            f"record {good_ids[int(np.argmin(finite))]}: filtering produced NaN/Inf; the filter settings "
            f"({settings.describe()}) are numerically unstable, loosen preprocess.bandpass/notch/baseline"
        )
    return good_ids, filtered, failures, flagged


def _stop_on_failures(failures: list[dict], params: PreprocessSettings) -> None:
    """Raise for the first failure that the settings do not allow to skip."""
    for bad in failures:
        if bad["kind"] == "unreadable" and not params.skip_bad_records:
            raise RecordError(
                bad["record"],
                bad["problem"] + " (set preprocess.skip_bad_records: true to skip such "
                "records; they are then listed in data/processed/report.json)",
            )
        if bad["kind"] == "quality" and params.quality.action == "error":
            raise RecordError(
                bad["record"],
                f"unusable signal: {bad['problem']} (set preprocess.quality.action: "
                "skip or keep to go on; such records are then listed in data/processed/report.json)",
            )


def _not_downloaded(raw_dir: Path) -> list[dict]:
    """Records the download left out because the source lacked them ([] when it has none or no list)."""
    listed = raw_dir / MISSING
    return json.loads(listed.read_text())["records"] if listed.is_file() else []


def preprocess(raw_dir: Path, out_dir: Path, params: PreprocessSettings, source_fs: int) -> PreprocessReport:
    """Write out_dir/signals.h5, out_dir/records.h5 and out_dir/report.json from the records at `source_fs` Hz.

    Raises RecordError on a bad record unless `params.skip_bad_records`, in which case it is listed in the report.
    """
    settings, task, chunk_size = params.filters, params.task, params.chunk_size
    database = raw_dir / "ptbxl_database.csv"
    db, implausible = handle_implausible(read_database(database), str(database), params.implausible_metadata)
    for odd in implausible:
        log.warning("ecg_id %d: implausible %s %g treated as unknown", odd["ecg_id"], odd["column"], odd["value"])
    statements = read_statements(raw_dir / "scp_statements.csv")
    labels = make_labels(db, statements, task, params.min_class_count)
    report = PreprocessReport(task, labels.classes, len(db), unlabelled=labels.unlabelled, implausible=implausible)
    log.info(
        "task %s: %d classes %s; %d of %d records have no label for it and are excluded",
        task,
        len(labels.classes),
        labels.classes,
        len(labels.unlabelled),
        len(db),
    )

    not_downloaded = _not_downloaded(raw_dir)
    report.not_downloaded = not_downloaded
    if not_downloaded:
        log.warning(
            "%d record(s) were not downloaded (the source lacked them); left out and listed in report.json",
            len(not_downloaded),
        )
    absent = {m["ecg_id"] for m in not_downloaded}
    column = RECORD_COLUMN[source_fs]
    ids = [int(e) for e in labels.ecg_ids if int(e) not in absent]
    paths = [str(raw_dir / db.at[eid, column]) for eid in ids]
    jobs = [
        (ids[i : i + chunk_size], paths[i : i + chunk_size], source_fs, settings, params.quality)
        for i in range(0, len(ids), chunk_size)
    ]
    n_out = DURATION_S * settings.fs
    kept: list[int] = []
    signals_path = out_dir / "signals.h5"
    with atomic_path(signals_path) as tmp, h5store.writer(tmp) as h5:
        ds = h5store.create_record_dataset(h5, "signals", (len(LEADS), n_out), np.float32, params.compression)
        with ChunkPool(params.workers, len(jobs)) as pool, tqdm(total=len(ids), desc="preprocess", unit="rec") as bar:
            for good, block, failures, flagged in pool.imap(_process_chunk, jobs):
                _stop_on_failures(failures, params)
                for bad in failures:
                    log.warning("skipping record %s: %s", bad["record"], bad["problem"])
                for odd in flagged:
                    log.warning("keeping low-quality record %s: %s", odd["record"], odd["problem"])
                report.skipped.extend(f for f in failures if f["kind"] == "unreadable")
                report.low_quality.extend([*(f for f in failures if f["kind"] == "quality"), *flagged])
                h5store.append(ds, block)
                kept.extend(good)
                bar.update(len(good) + len(failures))
        if not kept:
            raise RecordError(str(raw_dir), "no usable record left; check the download and the task")
        h5store.set_attrs(ds, {"leads": list(LEADS), "units": "mV"})
        h5store.write_small(h5, "ecg_id", np.asarray(kept, np.int64))
        h5store.set_attrs(
            h5, {**settings.to_attrs(), **params.quality.to_attrs(), "source_fs": source_fs, "duration_s": DURATION_S}
        )

    rows = np.searchsorted(labels.ecg_ids, kept)
    y = labels.y[rows]
    kept_ids = np.asarray(kept, np.int64)
    with atomic_path(out_dir / "records.h5") as tmp, h5store.writer(tmp) as h5:
        h5store.write_small(h5, "ecg_id", kept_ids)
        h5store.write_small(h5, "patient_id", db.loc[kept_ids, "patient_id"].to_numpy(np.int64))
        h5store.write_small(h5, "strat_fold", db.loc[kept_ids, "strat_fold"].to_numpy(np.int64))
        h5store.write_small(h5, "labels", y, classes=labels.classes, task=task)
        h5store.write_small(
            h5,
            "metadata",
            metadata(db, kept_ids),
            columns=list(METADATA_COLUMNS),
            missing="NaN",
            age_note="ages above 89 (stored as 300 in PTB-XL) are set to 90",
        )
    report.written = len(kept)
    report.class_counts = {c: int(n) for c, n in zip(labels.classes, y.sum(axis=0))}
    write_json(out_dir / "report.json", report.as_dict())
    log.info("wrote %d records (%d skipped) to %s", len(kept), len(report.skipped), out_dir)
    return report
