"""Preprocess + features at full PTB-XL size: the pipeline's streaming, multi-process stages against the
straightforward record-by-record approach, measured in the same run.

    python benchmarks/preprocess_features.py [--records 21799] [--mirror /tmp/ptbxl-full]

Prints wall time, peak memory (whole process tree) and the speed-up, then the 500 Hz -> 100 Hz path
and the HDF5 sizes with and without compression.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from measure import ROOT, run_measured
from mirror import FULL_SIZE, build

BASELINE = """
import h5py, numpy as np, pandas as pd, wfdb
from scipy import signal
raw, out = {raw!r}, {out!r}
db = pd.read_csv(raw + '/ptbxl_database.csv')
sos = signal.butter(3, (0.5, 45.0), btype='bandpass', fs=100, output='sos')
sigs, ffts, specs = [], [], []
for name in db['filename_lr']:
    x, fields = wfdb.rdsamp(raw + '/' + name)
    x = signal.sosfiltfilt(sos, x.T, axis=-1).astype(np.float32)
    sigs.append(x)
    ffts.append(np.log(np.abs(np.fft.rfft(x, axis=-1)) / x.shape[-1] + 1e-6).astype(np.float32))
    specs.append(10 * np.log10(signal.spectrogram(x, fs=100, nperseg=64, noverlap=48)[2] + 1e-12).astype(np.float32))
with h5py.File(out + '/signals.h5', 'w') as h5:
    h5['signals'] = np.stack(sigs)
with h5py.File(out + '/features.h5', 'w') as h5:
    h5['fft'] = np.stack(ffts)
    h5['spectrogram'] = np.stack(specs)
"""

PIPELINE = """
from dataclasses import replace
from pathlib import Path
from ptbxl_multimodal.config.params import load_params
from ptbxl_multimodal.data.processed_files import preprocess
from ptbxl_multimodal.data.feature_files import featurize
params = load_params({params!r})  # the project's defaults, with the workers and compression measured
raw, out = Path({raw!r}), Path({out!r})
preprocess(raw, out, replace(params.preprocess, workers={workers}, compression={compression!r}), {source_fs})
featurize(out / 'signals.h5', out / 'fft.h5', out / 'spectrogram.h5',
          replace(params.features, workers={workers}, compression={compression!r}))
"""


def size_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.glob("*.h5")) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=FULL_SIZE)
    parser.add_argument("--mirror", type=Path, help="an existing mirror with 100 and 500 Hz records (else built)")
    parser.add_argument("--workers", type=int, default=0, help="0 = all cores")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ptbxl-bench-"))
    try:
        mirror = args.mirror or build(tmp / "mirror", args.records, (100, 500))
        print(f"{args.records} records, {os.cpu_count()} cores\n")
        rows = []
        if not args.skip_baseline:
            (tmp / "base").mkdir()
            wall, peak = run_measured(BASELINE.format(raw=str(mirror), out=str(tmp / "base")))
            rows.append(("baseline: record by record (rdsamp, sosfiltfilt, FFT, STFT, lists)", wall, peak, None))
        for label, fs, comp in (
            ("pipeline: preprocess + features, 100 Hz records", 100, "none"),
            ("pipeline: 500 Hz records -> 100 Hz", 500, "none"),
            ("pipeline: 100 Hz, gzip", 100, "gzip"),
            ("pipeline: 100 Hz, lzf", 100, "lzf"),
        ):
            if not (mirror / f"records{fs}").is_dir():
                print(f"skipped ({label}): the mirror has no records{fs}/ (build it with --rates 100 500)")
                continue
            out = tmp / f"out-{fs}-{comp}"
            wall, peak = run_measured(
                PIPELINE.format(
                    raw=str(mirror),
                    out=str(out),
                    source_fs=fs,
                    workers=args.workers,
                    compression=comp,
                    params=str(ROOT / "params.yaml"),
                )
            )
            rows.append((label, wall, peak, size_mb(out)))
            shutil.rmtree(out)
        base = rows[0][1] if not args.skip_baseline else None
        print(f"| {'approach':<72} | wall s | peak MB | speed-up | HDF5 MB |")
        print(f"|{'-' * 74}|-------:|--------:|---------:|--------:|")
        for label, wall, peak, size in rows:
            ratio = f"{base / wall:.1f}x" if base else "-"
            print(f"| {label:<72} | {wall:6.1f} | {peak:7.0f} | {ratio:>8} | {size if size else float('nan'):7.0f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
