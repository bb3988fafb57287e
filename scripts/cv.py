"""Cross-validation and seed sweeps as DVC experiments: queue them, then summarise what they measured.

    python scripts/cv.py queue rotations [--folds 1 2 ... 10] [-S key=value ...]   # test fold k, val k+1
    python scripts/cv.py queue seeds --seeds 42 1 2 [-S key=value ...]              # the standard split
    dvc queue start -j 1          # then wait for `dvc queue status`
    python scripts/cv.py summary rotations [--markdown results.md]                  # or: summary seeds
    python scripts/cv.py show                # every commit and finished experiment, one line each, 120 columns

Experiments are named cv-rot-<k> and cv-seed-<s>; `summary` reads them from `dvc exp show --json` and prints,
per model, the mean and sd of test macro AUC, and fusion minus each run's validation-best branch as evaluate
wrote it (fusion_vs_best.json), with the corrected resampled t-test over rotations and a plain t-test over seeds
(ptbxl_multimodal.evaluation.cv_summary).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from ptbxl_multimodal.branches import BRANCH_NAMES
from ptbxl_multimodal.evaluation.cv_summary import FOLDS, Run, rotation, summarize, to_markdown

PREFIX = {"rotations": "cv-rot-", "seeds": "cv-seed-"}
MODELS = (*BRANCH_NAMES, "fusion")


def queue_commands(kind: str, values: list[int], extra: list[str]) -> list[list[str]]:
    """The `dvc exp run --queue` command of each experiment (extra: more -S overrides for all of them)."""
    commands = []
    for v in values:
        if kind == "rotations":
            sets = [f"{key}={json.dumps(folds, separators=(',', ':'))}" for key, folds in rotation(v).items()]
        else:
            sets = [f"train.common.seed={v}"]
        command = ["dvc", "exp", "run", "--queue", "-n", f"{PREFIX[kind]}{v}"]
        for s in [*sets, *extra]:
            command += ["-S", s]
        commands.append(command)
    return commands


def experiments(shown: list[dict]) -> Iterator[tuple[str, dict]]:
    """(name, data) of every commit and finished experiment in `dvc exp show --json` output (a queued or running
    experiment shows its parent commit's metrics, so it is left out, as is a failed one)."""
    for entry in shown:
        if entry.get("rev") != "workspace" and entry.get("data") and not entry.get("error"):
            yield entry.get("name") or entry["rev"][:7], entry["data"]  # a commit (e.g. the baseline run)
        for group in entry.get("experiments") or []:
            if (group.get("executor") or {}).get("state", "success") != "success":
                continue
            for rev in group.get("revs", []):
                if rev.get("data") and not rev.get("error"):
                    yield rev.get("name") or rev["rev"][:7], rev["data"]


def to_run(name: str, data: dict) -> Run | None:
    """A Run from one experiment's metrics (None if it has no evaluation metrics, or none of this version: the
    best branch's name and the split sizes are read from fusion_vs_best.json, as evaluate wrote them)."""
    metrics = data.get("metrics", {})
    figures = {m: (metrics.get(f"metrics/eval/{m}.json") or {}).get("data") for m in MODELS}
    vs_best = (metrics.get("metrics/eval/fusion_vs_best.json") or {}).get("data") or {}
    if not all(figures.values()) or not {"vs", "n_train", "n_test"} <= set(vs_best):
        return None
    return Run(
        name,
        {m: f["auc"] for m, f in figures.items()},
        vs_best["vs"],
        vs_best["auc"],
        vs_best["n_test"] / vs_best["n_train"],
    )


WIDTH = 120


def flat(tree: dict, prefix: str = "") -> dict[str, object]:
    """Nested params as dotted keys."""
    out: dict[str, object] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def show_lines(found: list[tuple[str, dict]]) -> list[str]:
    """One line per run (fusion's test macro AUC and its paired difference from the validation-best branch, with
    intervals), then the params it changed against the first run listed (the current commit), indented."""
    head = f"{'run':<20} {'fusion test AUC [95% CI]':<26} {'fusion - best branch [95% CI]':<31} {'p(<=0)':>6}"
    lines = [head, "-" * len(head)]
    base = None
    for name, data in found:
        metrics = data.get("metrics", {})
        fusion = (metrics.get("metrics/eval/fusion.json") or {}).get("data")
        diff = (metrics.get("metrics/eval/fusion_vs_best.json") or {}).get("data")
        params = flat(data["params"]["params.yaml"]["data"])
        base = params if base is None else base
        if not fusion or not diff:
            lines.append(f"{name[:20]:<20} (no evaluation metrics)")
            continue
        auc = f"{fusion['auc']:.3f} [{fusion['auc_lo']:.3f}, {fusion['auc_hi']:.3f}]"
        vs = f"{diff['auc']:+.3f} [{diff['auc_lo']:+.3f}, {diff['auc_hi']:+.3f}]"
        lines.append(f"{name[:20]:<20} {auc:<26} {vs:<31} {diff.get('p_le0', float('nan')):>6.2f}")
        changed = [f"{k}={json.dumps(v)}" for k, v in params.items() if base.get(k) != v]
        if changed:
            lines += textwrap.wrap(" ".join(changed), WIDTH, initial_indent="    ", subsequent_indent="    ")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/cv.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    q = sub.add_parser("queue", help="queue the experiments (dvc exp run --queue)")
    q.add_argument("kind", choices=PREFIX)
    q.add_argument("--folds", type=int, nargs="+", default=list(FOLDS), help="test folds (rotations)")
    q.add_argument("--seeds", type=int, nargs="+", default=[42, 1, 2], help="train.common.seed values (seeds)")
    q.add_argument("-S", "--set-param", dest="extra", action="append", default=[], help="more overrides")
    q.add_argument("--dry-run", action="store_true", help="print the commands only")
    s = sub.add_parser("summary", help="summarise the finished experiments")
    s.add_argument("kind", choices=PREFIX)
    s.add_argument(
        "--names",
        nargs="+",
        help="summarise these experiments (or commits, e.g. a branch) instead of cv-rot-* / cv-seed-*",
    )
    s.add_argument("--markdown", type=Path, help="also write the tables to this file")
    sub.add_parser("show", help="every commit and finished experiment, one line each (fits 120 columns)")
    args = parser.parse_args(argv)

    if args.command == "queue":
        for command in queue_commands(args.kind, args.folds if args.kind == "rotations" else args.seeds, args.extra):
            print(" ".join(command), flush=True)
            if not args.dry_run and subprocess.run(command).returncode != 0:
                return 1
        return 0

    done = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True)
    if done.returncode != 0:
        print(f"error: dvc exp show failed: {done.stderr.strip()}", file=sys.stderr)
        return 1
    if args.command == "show":
        print("\n".join(show_lines(list(experiments(json.loads(done.stdout))))))
        return 0
    wanted = lambda name: name in args.names if args.names else name.startswith(PREFIX[args.kind])  # noqa: E731
    found = {name: data for name, data in experiments(json.loads(done.stdout)) if wanted(name)}
    runs = [r for name, data in sorted(found.items()) if (r := to_run(name, data))]
    if len(runs) < 2:
        print(
            f"error: found {len(runs)} finished experiment(s) to summarise ({sorted(found)}); need 2 or more. "
            "Queue them with `python scripts/cv.py queue ...` and run `dvc queue start`",
            file=sys.stderr,
        )
        return 1
    skipped = sorted(set(found) - {r.name for r in runs})
    if skipped:
        print(f"note: left out {skipped}: no evaluation metrics of this version (rerun them)", file=sys.stderr)
    table = to_markdown(summarize(runs, args.kind))
    print(table, end="")
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
