"""Stage `split`: record ids per split (train / val / test) and class counts per split."""

import logging
from pathlib import Path

import h5py
import numpy as np

from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.io.atomic import write_json
from ptbxl_multimodal.cli import run_stage
from ptbxl_multimodal.config import load_params
from ptbxl_multimodal.data.splits import SPLITS, check_disjoint_patients, split_by_folds, split_stratified, summarize
from ptbxl_multimodal.errors import StageError

RECORDS = Path("data/processed/records.h5")
OUT_DIR = Path("data/splits")
log = logging.getLogger(__name__)


def main() -> None:
    p = load_params()["split"]
    with h5py.File(RECORDS, "r") as h5:
        ecg_id, patient_id, strat_fold = (h5[k][...] for k in ("ecg_id", "patient_id", "strat_fold"))
        labels, classes = h5["labels"][...], h5store.get_attr(h5["labels"], "classes")
    if p["method"] == "strat_fold":
        split = split_by_folds(strat_fold, p["train_folds"], p["val_folds"], p["test_folds"])
    else:
        split = split_stratified(labels, patient_id, p["ratios"], p["seed"])
    try:
        check_disjoint_patients(split, patient_id)
    except ValueError as exc:
        raise StageError(f"{exc}: the split would leak a patient between splits. With strat_fold this means "
                         "ptbxl_database.csv puts one patient in two folds; use split.method: stratified") from None
    for name in SPLITS:
        if split[name].size == 0:
            raise StageError(f"split '{name}' is empty with split.method = {p['method']}; check split.{name}_folds "
                             "(strat_fold takes values 1-10) or split.ratios")
    unused = ecg_id.size - sum(rows.size for rows in split.values())
    summary = {"method": p["method"], "unassigned_records": int(unused),
               **summarize(split, labels, classes, patient_id)}
    write_json(OUT_DIR / "split.json", {name: ecg_id[np.sort(rows)].tolist() for name, rows in split.items()})
    write_json(OUT_DIR / "summary.json", summary)
    log.info("split (%s): %s; %d records in no split", p["method"],
             ", ".join(f"{n} {split[n].size}" for n in SPLITS), unused)


if __name__ == "__main__":
    run_stage(main)
