"""Peak memory and time of `ptbxl-predict` on long recordings: does memory stay flat as a recording grows?

    python benchmarks/long_recording.py [--models models] [--record ../shared/ptbxl/records500/00000/00001_hr]
                                        [--hours 0 1 6]

Each recording is a real 10 s, 500 Hz PTB-XL record repeated to the length asked for (0 = the record itself), written
as a WFDB record (format 16) in a temporary folder, then predicted by `ptbxl-predict` in a fresh process. Peak
resident memory comes from `resource.getrusage(RUSAGE_CHILDREN)` of a fresh wrapper process (the largest process it
waited for, `ru_maxrss`), so nothing measured before counts. Printed per recording: windows, wall seconds, seconds
per recorded hour, peak MB, and the peak minus the 10 s record's peak measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import wfdb

from measure import ROOT

WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
print(json.dumps({"rc": done.returncode, "peak_mb": peak_kb / 1024, "log": done.stderr[-3000:]}))
"""


def make_recording(record: Path, hours: float, folder: Path) -> Path:
    """The record repeated to `hours` (0: the record itself) as a WFDB record in `folder`."""
    if hours == 0:
        return record
    rec = wfdb.rdrecord(str(record), physical=False)
    copies = int(round(hours * 3600 * rec.fs / rec.sig_len))
    name = f"repeated_{hours:g}h".replace(".", "p")
    wfdb.wrsamp(
        name,
        fs=rec.fs,
        units=rec.units,
        sig_name=rec.sig_name,
        d_signal=np.tile(rec.d_signal, (copies, 1)),
        fmt=["16"] * rec.n_sig,
        adc_gain=rec.adc_gain,
        baseline=rec.baseline,
        write_dir=str(folder),
    )
    return folder / name


def measure(recording: Path, models: Path, out: Path) -> dict:
    """Wall seconds and peak MB of one `ptbxl-predict` run in a fresh process, and the windows it scored."""
    cmd = [sys.executable, "-m", "ptbxl_multimodal.predict", str(recording), "--models", str(models)]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", WRAPPER, *cmd, "--json", str(out)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"ptbxl-predict failed on {recording}: {result['log']}")
    (record,) = json.loads(out.read_text())["records"]
    return {"wall": wall, "peak_mb": result["peak_mb"], "windows": record["windows"], "span": record["span_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="a finished run's models/")
    parser.add_argument("--record", type=Path, default=ROOT.parent / "shared/ptbxl/records500/00000/00001_hr")
    parser.add_argument("--hours", type=float, nargs="+", default=[0, 1, 6], help="0 = the 10 s record itself")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="ptbxl-long-") as tmp:
        for hours in args.hours:
            recording = make_recording(args.record, hours, Path(tmp))
            rows.append((hours, measure(recording, args.models, Path(tmp) / "out.json")))
            print(f"measured {hours:g} h: {rows[-1][1]}", flush=True)
            if hours:
                for f in Path(tmp).glob("repeated_*"):
                    f.unlink()  # 6 h at 500 Hz is 260 MB on disk
    base = rows[0][1]["peak_mb"]
    print(f"\nptbxl-predict, models {args.models}, record {args.record.name} repeated; fresh process each\n")
    print("| recording | windows | wall s | s per recorded hour | peak MB | peak minus the first row's |")
    print("|---|---:|---:|---:|---:|---:|")
    for hours, r in rows:
        length = f"{hours:g} h" if hours else f"{r['span'][1]:g} s"
        per_hour = r["wall"] / (r["span"][1] / 3600)
        print(
            f"| {length} | {r['windows']} | {r['wall']:.1f} | {per_hour:.0f} | {r['peak_mb']:.0f} "
            f"| {r['peak_mb'] - base:+.0f} |"
        )


if __name__ == "__main__":
    main()
