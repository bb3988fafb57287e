"""Predict on new WFDB records with the trained models: per-class probabilities and decisions.

    ptbxl-predict RECORD_OR_FOLDER [...] [--models DIR] [--metadata meta.csv] [--age 63 --sex 1 ...]
                  [--all-branches] [--threshold P] [--json out.json] [--csv out.csv] [--windows w.csv] [-v]

Each record is read with wfdb, its leads found by their header names (any order; extra leads such as
the Frank leads are ignored, a missing standard lead is an error), resampled to the model's rate and put
through exactly the filters and features stored in the checkpoints. A record longer than the training
records (10 s for PTB-XL) is scored in windows of that length every half window, and the probabilities are
averaged over its windows; a shorter one is refused (never padded). A long recording (a Holter export) is read,
preprocessed and scored 64 windows at a time, keeping running sums only, so memory does not grow with its length;
it shows its progress on stderr (any record with -v), and --windows writes every window's probabilities.

Probabilities go through the calibration, and decisions use the per-class thresholds, fitted on the
validation split when each model was trained and stored in its checkpoint (a checkpoint copied alone
decides the same); --threshold P overrides the thresholds with one for every class. A record that
cannot be used is reported with its problem; the others are still predicted, and the exit status is
1 if any failed (2 if nothing could be predicted because of the arguments).

Metadata: age in years (PTB-XL's 300 means over 89), sex 0 = male / 1 = female, height in cm,
weight in kg; any may be missing. --metadata takes a CSV with a `record` column (00001_lr, or a
path) or PTB-XL's own ptbxl_database.csv; PTB-XL records are matched by ecg id, so 00001_lr and
00001_hr share a row.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import logging
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
from tqdm import tqdm

from ptbxl_multimodal import checkpoints
from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.data.metadata import COLUMNS as METADATA_COLUMNS
from ptbxl_multimodal.data.metadata import UNITS, metadata_for
from ptbxl_multimodal.errors import PipelineError, RecordError
from ptbxl_multimodal.io.atomic import atomic_path, write_text
from ptbxl_multimodal.predict.explanations import evidence_line, explain_record
from ptbxl_multimodal.predict.inference import Predictor, branch_specs, signal_inputs
from ptbxl_multimodal.predict.windowed_records import BLOCK_WINDOWS, RecordWindows, open_windows
from ptbxl_multimodal.signal.quality import QualitySettings

log = logging.getLogger(__name__)


@dataclass
class Prediction:
    """One record's outcome: probabilities and decisions per model, or the reason it failed."""

    record: str
    probabilities: dict[str, dict[str, float]] = field(default_factory=dict)
    decisions: dict[str, dict[str, int]] = field(default_factory=dict)
    missing_inputs: list[str] = field(default_factory=list)
    source_fs: int | None = None
    ignored_leads: list[str] = field(default_factory=list)  # leads in the header the models do not use
    windows: int = 0  # windows of the training length scored and averaged (signal.windows)
    span_s: list[float] = field(default_factory=list)  # the seconds they cover: [first start, last end]
    explanation: dict | None = None  # with --explain: attributions and branch contributions (report.attributions)
    error: str | None = None


def find_records(paths: list[str]) -> tuple[list[Path], list[Prediction]]:
    """Record base names (without extension) from record paths, .hea/.dat paths or folders (searched recursively),
    and a failed Prediction for each path that does not exist."""
    found: list[Path] = []
    missing: list[Prediction] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found += sorted(h.with_suffix("") for h in p.rglob("*.hea"))
            continue
        base = p.with_suffix("") if p.suffix in (".hea", ".dat") else p
        if base.with_suffix(".hea").is_file():
            found.append(base)
        else:
            missing.append(Prediction(raw, error="no such record: neither a folder nor a WFDB header (.hea)"))
    return found, missing


PREDICT_CHUNK = 1024  # records read, preprocessed and scored together: memory stays flat however many are given


class WindowRows:
    """Every scored window's probabilities as CSV rows (record, model, start_s, end_s, one column per class), written
    as they come, so a long recording's course over time can be plotted without holding it."""

    def __init__(self, out: IO[str], classes: list[str]):
        self.writer = csv.writer(out)
        self.writer.writerow(["record", "model", "start_s", "end_s", *(f"{c}_prob" for c in classes)])

    def add(self, record: str, model: str, windows: RecordWindows, starts: list[int], probs: np.ndarray) -> None:
        for start, row in zip(starts, probs):
            times = (round(start / windows.fs, 3), round((start + windows.width) / windows.fs, 3))
            self.writer.writerow([record, model, *times, *(round(float(p), 6) for p in row)])


def predict_records(
    records: list[Path],
    models_dir: Path,
    metadata: np.ndarray,
    all_branches: bool = False,
    batch_size: int = 256,
    threshold: float | None = None,
    explain: Path | None = None,
    chunk: int = PREDICT_CHUNK,
    windows_out: IO[str] | None = None,
    verbose: bool = False,
    block: int = BLOCK_WINDOWS,
) -> tuple[list[Prediction], list[str]]:
    """Predict every record (and return the class names); unusable records carry an error instead. Decisions
    use each checkpoint's own thresholds, or `threshold` for every class when given. With `explain` (a folder),
    each record also gets its explanation, and its figure there. Records go through in chunks of `chunk`, so a
    folder of the whole dataset needs the memory of one chunk; a record of more than `block` windows is streamed
    on its own, `block` windows at a time (with a progress bar on stderr; every record's with `verbose`).
    `windows_out` receives every window's probabilities as CSV (WindowRows)."""
    files = {"fusion": models_dir / "fusion.pt"}
    if all_branches:
        files.update({b: models_dir / f"{b}.pt" for b in BRANCH_NAMES})
    models = {name: checkpoints.load(path) for name, path in files.items()}
    fusion = models["fusion"]
    if explain is not None and "time" not in fusion.specs():
        raise PipelineError(
            f"--explain: {files['fusion']} does not use the time branch, whose attributions it shows; "
            "train a fusion with time in fusion.branches"
        )
    cuts = {
        name: checkpoints.thresholds(ckpt, files[name]) if threshold is None else np.full(len(ckpt.classes), threshold)
        for name, ckpt in models.items()
    }
    specs = {name: spec for ckpt in models.values() for name, spec in branch_specs(ckpt).items()}
    predictors = {name: Predictor(ckpt, batch_size) for name, ckpt in models.items()}
    results = [Prediction(str(r)) for r in records]
    scoring = Scoring(
        fusion.classes, specs, predictors, cuts, WindowRows(windows_out, fusion.classes) if windows_out else None
    )
    figures: set[str] = set()  # figure names given so far (the same record name in two folders)
    for first in range(0, len(records), chunk):
        part = slice(first, first + chunk)
        chunk_results = results[part]  # the same Prediction objects, filled in place
        rows, inputs, starts = _predict_chunk(records[part], metadata[part], chunk_results, scoring, verbose, block)
        if explain is not None:
            _explain_chunk(chunk_results, rows, inputs, starts, first, explain, figures, specs, predictors["fusion"])
            for r in chunk_results:
                if r.windows > block and not r.error:
                    log.warning(
                        "%s: %d windows: not explained (--explain draws records of up to %d windows; explain a "
                        "section of it, e.g. cut with wfdb.rdrecord(sampfrom=..., sampto=...))",
                        r.record,
                        r.windows,
                        block,
                    )
    return results, fusion.classes


@dataclass
class Scoring:
    """What every record is scored with: the class names, the input specs, the models, their decision thresholds,
    and where each window's probabilities go (or None)."""

    classes: list[str]
    specs: dict
    predictors: dict[str, Predictor]
    cuts: dict[str, np.ndarray]
    window_rows: WindowRows | None

    @property
    def duration(self) -> float:
        return max(s.duration_s for s in self.specs.values() if s.duration_s is not None)

    @property
    def quality(self) -> QualitySettings | None:
        return next((s.quality for s in self.specs.values() if s.quality is not None), None)

    def finish(self, result: Prediction, probs: dict[str, np.ndarray], metadata: np.ndarray) -> None:
        """Fill in a record's averaged probabilities, its decisions and the metadata it went without."""
        for name, p in probs.items():
            result.probabilities[name] = {c: round(float(v), 6) for c, v in zip(self.classes, p)}
            result.decisions[name] = {c: int(v >= t) for c, v, t in zip(self.classes, p, self.cuts[name])}
        result.missing_inputs = [c for c, v in zip(METADATA_COLUMNS, metadata) if math.isnan(v)]


def _predict_long(
    windows: RecordWindows, metadata: np.ndarray, result: Prediction, scoring: Scoring, bar: tqdm
) -> None:
    """Score a long record a block of windows at a time, keeping only the running sum of each model's window
    probabilities (and writing each window's to scoring.window_rows)."""
    sums = {name: np.zeros(len(scoring.classes)) for name in scoring.predictors}
    for starts, signals in windows.blocks(scoring.quality):
        inputs = {"meta": np.repeat(metadata[None], len(starts), axis=0)}
        inputs.update(signal_inputs(signals, windows.fs, scoring.specs))
        for name, predictor in scoring.predictors.items():
            probs = predictor(inputs)
            sums[name] += probs.sum(axis=0)
            if scoring.window_rows:
                scoring.window_rows.add(result.record, name, windows, starts, probs)
        bar.update(len(starts))
    scoring.finish(result, {name: total / len(windows.starts) for name, total in sums.items()}, metadata)


def _predict_chunk(
    records: list[Path],
    metadata: np.ndarray,
    results: list[Prediction],
    scoring: Scoring,
    verbose: bool,
    block: int,
) -> tuple[dict[int, np.ndarray], dict[str, np.ndarray], dict[int, list[float]]]:
    """predict_records on one chunk of records, filling in their `results`; returns the model-input rows of each
    record scored in the batch (its windows), the inputs and the windows' starts (s), for the explanations.
    A record of more than `block` windows is streamed on its own (_predict_long) and returns nothing here."""
    planned, by_rate = _read_chunk(records, metadata, results, scoring, block)
    if not by_rate:
        return {}, {}, {}
    rows, inputs = _chunk_inputs(by_rate, metadata, scoring)
    window_probs = {name: predictor(inputs) for name, predictor in scoring.predictors.items()}
    with tqdm(total=sum(map(len, rows.values())), unit="window", file=sys.stderr, disable=not verbose) as bar:
        for i in rows:
            probs = {name: p[rows[i]] for name, p in window_probs.items()}
            if scoring.window_rows:
                for name, p in probs.items():
                    scoring.window_rows.add(results[i].record, name, planned[i], planned[i].starts, p)
            scoring.finish(results[i], {name: p.mean(axis=0) for name, p in probs.items()}, metadata[i])
            bar.update(len(rows[i]))
    return rows, inputs, {i: [round(s / planned[i].fs, 3) for s in planned[i].starts] for i in rows}


def _read_chunk(
    records: list[Path], metadata: np.ndarray, results: list[Prediction], scoring: Scoring, block: int
) -> tuple[dict[int, RecordWindows], dict[int, list[tuple[int, np.ndarray]]]]:
    """Read and check every record, cut it into windows of the training length (signal.windows) and group the
    windows by sampling rate for batched preprocessing: (record -> its windows, rate -> [(record, window)]).
    A window that preprocess would have called unusable (flat, dropout, clipped) gets no prediction, and neither
    does its record; a long record is streamed on its own (_predict_long) and left out of both."""
    by_rate: dict[int, list[tuple[int, np.ndarray]]] = {}
    planned: dict[int, RecordWindows] = {}
    for i, rec in enumerate(records):
        try:
            windows = open_windows(rec, scoring.duration)
            results[i].source_fs, results[i].ignored_leads = windows.fs, windows.ignored_leads
            results[i].windows, results[i].span_s = len(windows.starts), list(windows.span_s())
            if len(windows.starts) > block:
                with tqdm(total=len(windows.starts), desc=Path(rec).name, unit="window", file=sys.stderr) as bar:
                    _predict_long(windows, metadata[i], results[i], scoring, bar)
                continue
            [(_, signals)] = list(windows.blocks(scoring.quality, block))
        except RecordError as exc:
            results[i].error = exc.problem
            continue
        planned[i] = windows
        by_rate.setdefault(windows.fs, []).extend((i, w) for w in signals)
    return planned, by_rate


def _chunk_inputs(
    by_rate: dict[int, list[tuple[int, np.ndarray]]], metadata: np.ndarray, scoring: Scoring
) -> tuple[dict[int, np.ndarray], dict[str, np.ndarray]]:
    """The model inputs of every window (one row each, preprocessed a sampling rate at a time) and the rows of
    each record."""
    owner: list[int] = []  # the record of each row of the model inputs
    at: dict[int, np.ndarray] = {}
    rows_of: dict[int, list[int]] = {}
    for fs, group in by_rate.items():
        at[fs] = np.arange(len(owner), len(owner) + len(group))
        for i, _ in group:
            rows_of.setdefault(i, []).append(len(owner))
            owner.append(i)
    inputs: dict[str, np.ndarray] = {"meta": metadata[owner]}
    for fs, group in by_rate.items():
        batch = signal_inputs(np.stack([w for _, w in group]), fs, scoring.specs)
        for name, arr in batch.items():
            if name not in inputs:
                inputs[name] = np.empty((len(owner), *arr.shape[1:]), dtype=np.float32)
            inputs[name][at[fs]] = arr
    return {i: np.array(rows_of[i]) for i in sorted(rows_of)}, inputs


def _explain_chunk(
    results: list[Prediction],
    rows: dict[int, np.ndarray],
    inputs: dict[str, np.ndarray],
    starts: dict[int, list[float]],
    offset: int,
    explain: Path,
    figures: set[str],
    specs: dict,
    fusion: Predictor,
) -> None:
    """Each predicted record's explanation and its figure in `explain` (a record name seen before gets its index)."""
    explain.mkdir(parents=True, exist_ok=True)
    for i, window_rows in rows.items():
        name = Path(results[i].record).name
        name = name if name not in figures else f"{name}_{offset + i}"  # the same name in two folders
        figures.add(name)
        results[i].explanation = explain_record(
            fusion.model,
            {n: v[window_rows] for n, v in inputs.items()},
            specs["time"].fs,
            starts[i],
            results[i].probabilities["fusion"],
            explain / f"{name}.png",
            results[i].record,
        )


def to_json(results: list[Prediction], classes: list[str]) -> str:
    return json.dumps({"classes": classes, "records": [r.__dict__ for r in results]}, indent=2) + "\n"


def to_csv(results: list[Prediction], classes: list[str]) -> str:
    """One row per (record, model), plus one row per failed record with its error."""
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["record", "model", *(f"{c}_prob" for c in classes), *(f"{c}_pred" for c in classes)]
    writer.writerow([*header, "missing_inputs", "ignored_leads", "windows", "error"])
    for r in results:
        if r.error:
            writer.writerow([r.record, "", *[""] * (2 * len(classes)), "", "", "", r.error])
        for model, probs in r.probabilities.items():
            cells = [*(probs[c] for c in classes), *(r.decisions[model][c] for c in classes)]
            notes = [";".join(r.missing_inputs), ";".join(r.ignored_leads), r.windows]
            writer.writerow([r.record, model, *cells, *notes, ""])
    return out.getvalue()


def check_output(option: str, path: Path | None) -> None:
    """An output file must be writable before any work is done."""
    if path is None:
        return
    if path.is_dir():
        raise PipelineError(f"{option} {path}: is a folder; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise PipelineError(f"{option} {path}: folder {folder} does not exist; create it first")
    if not os.access(folder, os.W_OK):
        raise PipelineError(f"{option} {path}: folder {folder} is not writable")


def probability(text: str) -> float:
    """An argparse type: a number strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:  # NaN fails too
        raise argparse.ArgumentTypeError(f"{text!r}: give a probability between 0 and 1, e.g. 0.5")
    return value


def print_table(results: list[Prediction], classes: list[str]) -> None:
    for r in results:
        if r.error:
            continue  # reported once, in the log
        for model, probs in r.probabilities.items():
            positive = [c for c in classes if r.decisions[model][c]]
            cells = "  ".join(f"{c} {probs[c]:.3f}" for c in classes)
            print(f"{r.record} [{model}] {cells}  -> {', '.join(positive) or 'none'}")
        if r.explanation:
            print("    " + evidence_line(r.explanation))


def build_parser() -> argparse.ArgumentParser:
    """The command line of ptbxl-predict (python -m ptbxl_multimodal.predict)."""
    parser = argparse.ArgumentParser(
        prog="ptbxl-predict", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("records", nargs="+", help="WFDB record paths (with or without .hea) or folders")
    parser.add_argument("--models", type=Path, default=Path("models"), help="folder with fusion.pt (and branches)")
    parser.add_argument(
        "--threshold",
        type=probability,
        help="one decision threshold for every class and model, instead of each checkpoint's validation-tuned ones",
    )
    parser.add_argument(
        "--metadata", type=Path, help="CSV with a record column (or PTB-XL's ptbxl_database.csv) and age, sex, ..."
    )
    for column in METADATA_COLUMNS:
        parser.add_argument(f"--{column}", type=float, help=f"{column} ({UNITS[column]}) for every record")
    parser.add_argument("--all-branches", action="store_true", help="also report every branch model")
    parser.add_argument(
        "--explain",
        type=Path,
        metavar="DIR",
        help="also explain each call: per-lead and per-second attributions of the time branch and each branch's "
        "contribution to the fusion (in the JSON output), and an ECG figure per record in DIR (slow: seconds each)",
    )
    parser.add_argument("--json", type=Path, help="write the predictions as JSON")
    parser.add_argument("--csv", type=Path, help="write the predictions as CSV")
    parser.add_argument(
        "--windows",
        type=Path,
        metavar="CSV",
        help="also write every scored window's probabilities (record, model, start_s, end_s, one column per class)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="show progress for every record, not only long ones"
    )
    return parser


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse unwritable or clashing outputs before any record is read."""
    check_output("--json", args.json)
    check_output("--csv", args.csv)
    check_output("--windows", args.windows)
    if args.explain is not None and args.explain.exists() and not args.explain.is_dir():
        raise PipelineError(f"--explain {args.explain}: is a file; give a folder for the figures")


def _predict(args: argparse.Namespace, records: list[Path], meta: np.ndarray) -> tuple[list, list[str]]:
    """predict_records with the command line's options, the per-window CSV written atomically."""
    with contextlib.ExitStack() as stack:
        windows_out = None
        if args.windows:
            tmp = stack.enter_context(atomic_path(args.windows))
            windows_out = stack.enter_context(open(tmp, "w", newline=""))
        return predict_records(
            records,
            args.models,
            meta,
            args.all_branches,
            threshold=args.threshold,
            explain=args.explain,
            windows_out=windows_out,
            verbose=args.verbose,
        )


def _log_outcome(results: list[Prediction], elapsed: float) -> int:
    """What was assumed or ignored per record, the failures, the rate; the exit status (1 if any failed)."""
    for r in results:
        if r.missing_inputs:
            log.info("%s: no %s given; predicted without", r.record, ", ".join(r.missing_inputs))
        if r.ignored_leads:
            log.info("%s: leads %s are not used by the models; ignored", r.record, ", ".join(r.ignored_leads))
        if r.windows > 1:
            log.info("%s: %d windows scored and averaged, covering %g-%g s", r.record, r.windows, *r.span_s)
    failed = [r for r in results if r.error]
    for r in failed:
        log.error("record %s: %s", r.record, r.error)
    rate = len(results) / elapsed if elapsed else float("inf")
    log.info("%d record(s) predicted, %d failed, %.1f records/s", len(results) - len(failed), len(failed), rate)
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Predict the records the command line names; 0: all predicted, 1: some failed, 2: bad arguments or input."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        _check_outputs(args)
        records, missing = find_records(args.records)
        if not records and not missing:
            raise PipelineError(f"no WFDB record (.hea) found in {args.records}")
        meta = metadata_for(records, args.metadata, {c: getattr(args, c) for c in METADATA_COLUMNS})
        start = time.perf_counter()
        results, classes = _predict(args, records, meta) if records else ([], [])
        elapsed = time.perf_counter() - start
        results += missing
        if args.json:
            write_text(args.json, to_json(results, classes))
        if args.csv:
            write_text(args.csv, to_csv(results, classes))
    except PipelineError as exc:
        log.error("%s", exc)
        return 2
    if not (args.json or args.csv):
        print_table(results, classes)
    return _log_outcome(results, elapsed)


if __name__ == "__main__":
    sys.exit(main())
