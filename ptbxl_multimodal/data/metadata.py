"""Patient metadata as the `meta` branch reads it, prepared by one function for training and predict alike."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

from ptbxl_multimodal.errors import PipelineError

COLUMNS = ("age", "sex", "height", "weight")  # years, 0 male / 1 female, cm, kg
AGE_CAP = 90.0  # PTB-XL stores ages above 89 as 300 (anonymisation); 90 is the lower bound of the true age
AGE_MARK = 300.0
# Plausible ranges (inclusive); PTB-XL's age mark 300 (above 89) is allowed besides, and sex is 0 or 1.
PLAUSIBLE = {"age": (0.0, 120.0), "sex": (0.0, 1.0), "height": (40.0, 250.0), "weight": (2.0, 350.0)}
UNITS = {"age": "years", "sex": "0 male, 1 female", "height": "cm", "weight": "kg"}


def implausible(column: str, value: float) -> bool:
    """Whether a known value lies outside what a patient can have."""
    if column == "age" and value == AGE_MARK:
        return False
    if column == "sex":
        return value not in (0.0, 1.0)
    low, high = PLAUSIBLE[column]
    return not low <= value <= high


def prepare_metadata(table: np.ndarray) -> np.ndarray:
    """float32 (n, 4) of age, sex, height, weight; PTB-XL's age mark 300 becomes 90, and a missing value (NaN)
    stays missing, so the model's missing-value indicator sees it."""
    out = np.array(table, dtype=np.float64, copy=True).reshape(-1, len(COLUMNS))
    age = out[:, 0]
    out[:, 0] = np.where(age >= AGE_MARK, AGE_CAP, age)  # NaN >= 300 is False: NaN stays NaN
    return out.astype(np.float32)


def record_key(name: str) -> int | str:
    """How a record is matched to its metadata: PTB-XL names (00001_lr, 00001_hr) by ecg_id, others by name."""
    stem = Path(name).name.removesuffix(".hea").removesuffix(".dat")
    match = re.fullmatch(r"(\d+)_(lr|hr)", stem)
    return int(match.group(1)) if match else stem


def read_metadata_file(path: Path) -> dict[int | str, dict[str, float]]:
    """Known metadata values by record key, from a CSV with a `record` column (record name or path) or PTB-XL's
    own ptbxl_database.csv (an `ecg_id` column); PipelineError listing unreadable, non-numeric, implausible or
    duplicated entries."""
    try:
        df = pd.read_csv(path)
    except FileNotFoundError:
        raise PipelineError(f"--metadata {path}: no such file") from None
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PipelineError(f"--metadata {path}: cannot read the CSV ({exc})") from None
    if "record" in df.columns:
        keys = df["record"].astype(str).map(record_key)
    elif "ecg_id" in df.columns:
        keys = pd.to_numeric(df["ecg_id"], errors="coerce").map(lambda v: int(v) if v == v else None)
    else:
        raise PipelineError(f"--metadata {path}: needs a 'record' column (e.g. 00001_lr) or PTB-XL's 'ecg_id'")
    problems = [f"row {i + 2}: no record named" for i in keys.index[keys.isna()]]
    duplicated = keys[keys.notna() & keys.duplicated(keep=False)]
    problems += [f"record {key}: listed {n} times" for key, n in duplicated.value_counts(sort=False).items()]
    table: dict[int | str, dict[str, float]] = {}
    for i, key in keys.items():
        values = {}
        for column in COLUMNS:
            raw = df.at[i, column] if column in df.columns else None
            if raw is None or (isinstance(raw, float) and math.isnan(raw)):
                continue
            try:
                value = float(raw)
            except (TypeError, ValueError):
                problems.append(f"record {key}, {column} = {raw!r}: not a number ({UNITS[column]})")
                continue
            if not math.isfinite(value) or implausible(column, value):
                problems.append(f"record {key}, {column} = {value:g}: impossible ({UNITS[column]})")
            values[column] = value
        table[key] = values
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise PipelineError(f"--metadata {path}: {len(problems)} problem(s):\n  - " + "\n  - ".join(shown))
    return table


def check_overrides(overrides: dict[str, float | None]) -> None:
    """Values given on the command line (--age, --sex, ...) must be possible."""
    for column, value in overrides.items():
        if value is not None and (not math.isfinite(value) or implausible(column, value)):
            low, high = PLAUSIBLE[column]
            raise PipelineError(f"--{column} {value:g}: impossible; give {UNITS[column]}, {low:g}-{high:g}")


def metadata_for(records: list[Path], path: Path | None, overrides: dict[str, float | None]) -> np.ndarray:
    """Prepared metadata rows (age, sex, height, weight; NaN where unknown) for the records, from an optional file
    and command-line values that apply to every record."""
    check_overrides(overrides)
    known = read_metadata_file(path) if path is not None else {}
    table = np.full((len(records), len(COLUMNS)), np.nan)
    for i, record in enumerate(records):
        values = known.get(record_key(record.name), {})
        for j, column in enumerate(COLUMNS):
            given = overrides.get(column)
            table[i, j] = given if given is not None else values.get(column, np.nan)
    return prepare_metadata(table)
