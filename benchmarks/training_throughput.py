"""Training throughput per branch on this machine, and the share of step time spent waiting for data.

    python benchmarks/training_throughput.py [--steps 20] [--batch-size 64] [--device auto]

Uses the default architectures from params.yaml on inputs of the real shapes (10 s at 100 Hz) held in
memory as the training stage holds them, and the training loop's own batching (`epoch_batches`,
`_take`). "data" is the time to gather a batch and move it to the device; "step" is forward,
backward and the optimiser update.
"""

from __future__ import annotations

import argparse
import time

import torch

from measure import ROOT
from ptbxl_multimodal.branches import BRANCHES
from ptbxl_multimodal.config.params import Params, load_params
from ptbxl_multimodal.models.runtime import resolve_device, take_batch
from ptbxl_multimodal.training.loop import epoch_batches

SHAPES = {"time": (12, 1000), "freq": (12, 501), "spec": (12, 33, 59), "meta": (4,)}


def measure(branch: str, params: Params, n_records: int, steps: int, batch_size: int, device: torch.device) -> tuple:
    torch.manual_seed(0)
    model = BRANCHES[branch].build(SHAPES[branch], 5, params.branches[branch].architecture, fs=100).to(device).train()
    x = {"x": torch.randn(n_records, *SHAPES[branch])}
    y = torch.randint(0, 2, (n_records, 5)).float()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    batches = epoch_batches(n_records, batch_size, torch.Generator().manual_seed(0), None)
    data_s = step_s = 0.0
    for i, idx in enumerate(batches[: steps + 2]):
        t0 = time.perf_counter()
        batch, target = take_batch(x, idx, device), y[idx].to(device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        loss = loss_fn(model(batch["x"]), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        t2 = time.perf_counter()
        if i >= 2:  # warm-up steps excluded
            data_s += t1 - t0
            step_s += t2 - t1
    records = steps * batch_size
    return records / (data_s + step_s), 100 * data_s / (data_s + step_s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--records", type=int, default=4096, help="records held in memory to sample from")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    params = load_params(ROOT / "params.yaml")
    device = resolve_device(args.device)
    print(f"device {device}, {torch.get_num_threads()} threads, batch {args.batch_size}, {args.steps} steps\n")
    print("| branch | records/s | data wait (% of step time) |")
    print("|---|---:|---:|")
    for branch in SHAPES:
        rate, wait = measure(branch, params, args.records, args.steps, args.batch_size, device)
        print(f"| {branch} | {rate:,.0f} | {wait:.2f} |")


if __name__ == "__main__":
    main()
