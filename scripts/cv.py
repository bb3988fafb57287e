"""Cross-validation and seed sweeps as DVC experiments: queue them, then summarise what they measured.

    python scripts/cv.py queue rotations [--folds 1 2 ... 10] [-S key=value ...]   # test fold k, val k+1
    python scripts/cv.py queue seeds --seeds 42 1 2 [-S key=value ...]              # the standard split
    dvc queue start -j 1          # then wait for `dvc queue status`
    python scripts/cv.py summary rotations [--markdown results.md]                  # or: summary seeds
    python scripts/cv.py show                # every commit and finished experiment, one line each, 120 columns
    python scripts/cv.py page --standard cv-seed-42 --out docs/results.md   # the results page, from the runs
                                                   # [--archs ROOT: with scripts/arch_study.py's study in ROOT]

Experiments are named cv-rot-<k> and cv-seed-<s>; `summary` reads them from `dvc exp show --json` and prints,
per model, the mean and sd of test macro AUC, and fusion minus each run's validation-best branch as evaluate
wrote it (fusion_vs_best.json), with the corrected resampled t-test over rotations and a plain t-test over seeds
(scripts/cv_summary.py).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from arch_study import section as arch_section
from cv_summary import FOLDS, Run, rotation, summarize, to_markdown
from ptbxl_multimodal.branches import BRANCH_NAMES

PREFIX = {"rotations": "cv-rot-", "seeds": "cv-seed-"}
VIEWS = "metrics/eval/views/"
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


def view_paths(metrics: dict) -> list[str]:
    """The views/ metrics files of a run: the ablations (no_<branch>) first, then each branch alone."""
    return sorted((p for p in metrics if p.startswith(VIEWS)), key=lambda p: (not p[len(VIEWS) :].startswith("no_"), p))


def to_run(name: str, data: dict) -> Run | None:
    """A Run from one experiment's metrics (None if it has no evaluation metrics, or none of this version: the
    best branch's name and the split sizes are read from fusion_vs_best.json, as evaluate wrote them)."""
    metrics = data.get("metrics", {})
    figures = {m: (metrics.get(f"metrics/eval/{m}.json") or {}).get("data") for m in MODELS}
    vs_best = (metrics.get("metrics/eval/fusion_vs_best.json") or {}).get("data") or {}
    if not all(figures.values()) or not {"vs", "n_train", "n_test"} <= set(vs_best):
        return None
    views = {
        path[len(VIEWS) :].removesuffix(".json"): metrics[path]["data"]["auc"]
        for path in view_paths(metrics)
        if (metrics[path] or {}).get("data")
    }
    return Run(
        name,
        {m: f["auc"] for m, f in figures.items()},
        vs_best["vs"],
        vs_best["auc"],
        vs_best["n_test"] / vs_best["n_train"],
        views,
        same_as(metrics),
    )


def same_as(metrics: dict) -> str | None:
    """The branch the run's fusion is, if it is one branch alone: its "<branch> alone minus fusion" row is exactly
    0 on every resample (a stack weighting only that branch rescales its logits, which leaves every AUC as it is)."""
    for path in view_paths(metrics):
        view, row = path[len(VIEWS) :].removesuffix(".json"), (metrics[path] or {}).get("data") or {}
        if not view.startswith("no_") and row and row.get("auc") == row.get("auc_lo") == row.get("auc_hi") == 0:
            return view
    return None


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


def summary_markdown(found: dict[str, dict], kind: str, names: list[str] | None = None) -> tuple[str | None, str]:
    """(the summary tables, or None when fewer than 2 runs are found; a note for the user) of the finished
    experiments named `names`, or else of every cv-rot-* / cv-seed-* one."""
    wanted = {n: d for n, d in found.items() if (n in names if names else n.startswith(PREFIX[kind]))}
    runs = [r for name, data in sorted(wanted.items()) if (r := to_run(name, data))]
    if len(runs) < 2:
        return None, (
            f"found {len(runs)} finished experiment(s) to summarise ({sorted(wanted)}); need 2 or more. "
            "Queue them with `python scripts/cv.py queue ...` and run `dvc queue start`"
        )
    skipped = sorted(set(wanted) - {r.name for r in runs})
    note = f"left out {skipped}: no evaluation metrics of this version (rerun them)" if skipped else ""
    return to_markdown(summarize(runs, kind)), note


def standard_markdown(name: str, data: dict) -> str:
    """One run's tables: every model's test figures with intervals, and the paired comparisons (fusion minus the
    validation-best branch as deployed, each ablation minus fusion), all read from its metrics files."""
    metrics = {path: (m or {}).get("data") or {} for path, m in data.get("metrics", {}).items()}
    lines = [
        "| model | test macro AUC [95% CI] | F1 | F-max | subset accuracy | balanced accuracy | test records "
        "| validation macro AUC (the selection criterion: optimistic) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in MODELS:
        r = metrics.get(f"metrics/eval/{m}.json", {})
        accuracies = " | ".join(f"{r[k]:.3f}" if k in r else "-" for k in ("subset_acc", "bal_acc"))
        lines.append(
            f"| {m} | {r['auc']:.3f} [{r['auc_lo']:.3f}, {r['auc_hi']:.3f}] | {r['f1']:.3f} | {r['fmax']:.3f} "
            f"| {accuracies} | {r['n_test']} | {r['val_auc']:.3f} |"
        )
    vs = metrics["metrics/eval/fusion_vs_best.json"]
    lines += [
        "",
        "| paired comparison (same test records, same resamples) | difference in test macro AUC [95% CI] "
        "| share of resamples where the first is not better |",
        "|---|---|---|",
        f"| fusion minus `{vs['vs']}` as deployed (the validation-best branch) | {vs['auc']:+.3f} "
        f"[{vs['auc_lo']:+.3f}, {vs['auc_hi']:+.3f}] | {vs['p_le0']:.2f} |",
    ]
    for path in view_paths(metrics):
        view, r = path[len(VIEWS) :].removesuffix(".json"), metrics[path]
        what = f"fusion without `{view[3:]}`" if view.startswith("no_") else f"`{view}` alone (as deployed)"
        lines.append(
            f"| {what} minus fusion | {r['auc']:+.3f} [{r['auc_lo']:+.3f}, {r['auc_hi']:+.3f}] | {r['p_le0']:.2f} |"
        )
    return "\n".join(lines) + "\n"


PAGE_HEAD = """# Results on the 503-record sample

What this page is for: what the runs on the sample measured. It is generated from the runs' own metrics by the
command below and each table's command is beside it; do not edit it by hand.

    {command}

**Made under commit {commit}**, with its committed `params.yaml` ({defaults}) except what each run changed
(listed at the end).

**Every figure here comes from the 503-record sample** (on the standard split 353 training, 73 validation and
65 test records) and is **not comparable with full-dataset results** (Strodthoff et al. 2020 report about 0.93
superdiagnostic macro AUC for the best single 1D CNNs at 100 Hz on fold 10 of all 21,799 records). On 65 test
records a paired difference of 0.03 in macro AUC is noise: read the intervals. What each figure means:
[metrics.md](metrics.md). Runs repeat exactly on one machine with the same CPU kind and thread count; on another
CPU the branches that train longest move in the third decimal.

How to read the comparisons: "fusion minus X" above 0 means the fusion is better; "ablation minus fusion" below
0 is what the left-out view adds ("without meta" answers "with and without integrated metadata"). Over runs,
the interval of the mean goes with the test named in the table's header (Nadeau and Bengio's corrected
resampled t over rotations, which share most of their training data; a plain t over seeds, which share one
test set and so say nothing about other test records).
"""


SUMMARIES = {"rotations": "Cross-validation over strat_fold rotations", "seeds": "Seeds on the standard split"}
REPORTED = (1, 2, 3, 4, 5, 6)  # the rotations' test folds this page reports
SHOWN_DEFAULTS = ("crossfit.folds", "fusion.method", "fusion.test_logits", "train.common.threads")
SELECTION = """How defaults are kept apart from these test folds: the fusion's rule was chosen by a simulation and
confirmed on validation folds that are never a test fold reported here (test folds {reported} and 10): folds 9,
8 and 7, the validation folds of the standard split, cv-rot-7 and cv-rot-6. The cross-fitting defaults
(`crossfit.folds: 2`, `fusion.test_logits: full`) were first chosen on validation folds 2-7, which are test folds
here, and checked again on folds 9, 8 and 7, where they stand (K=4 +0.002 [-0.017, +0.021] of validation AUC for
twice the cost). How each default was chosen: [pipeline.md](pipeline.md) and [performance.md](performance.md).
"""


def baseline(shown: list[dict]) -> tuple[str, dict]:
    """The commit the experiments were run from (the first one in `dvc exp show --json` with experiments) and its
    params, flat."""
    for entry in shown:
        if entry.get("experiments") or (entry.get("rev") != "workspace" and entry.get("data")):
            params = ((entry.get("data") or {}).get("params") or {}).get("params.yaml", {}).get("data", {})
            return entry["rev"][:7], flat(params)
    return "unknown", {}


def page(
    found: dict[str, dict],
    standard: str | None,
    command: str,
    shown: list[dict],
    reported: tuple[int, ...] = REPORTED,
    commit: str | None = None,
    archs: Path | None = None,
) -> str:
    """The results page: the standard split's tables (run `standard`), then the summaries of the reported rotations
    and of the seeds; other cv-rot-* runs (chosen on, never reported) are named only."""
    base_commit, base_params = baseline(shown)
    commit = commit or f"`{base_commit}`"
    defaults = ", ".join(f"`{k}: {json.dumps(base_params[k])}`" for k in SHOWN_DEFAULTS if k in base_params)
    parts = [PAGE_HEAD.format(command=command, commit=commit, defaults=defaults or "as committed")]
    parts.append("## The standard split (test fold 10, validation fold 9)\n")
    if standard in found and to_run(standard, found[standard]):
        parts.append(f"Run `{standard}`; its tables come from `dvc exp show --json` (metrics/eval/).\n")
        parts.append(standard_markdown(standard, found[standard]))
    else:
        parts.append(f"No finished run `{standard}` of this version was found.\n")
    for kind, title in SUMMARIES.items():
        names = [f"{PREFIX[kind]}{k}" for k in reported] if kind == "rotations" else None
        table, note = summary_markdown(found, kind, names)
        listed = f" --names {' '.join(names)}" if names else ""
        parts.append(f"## {title}\n\n```bash\npython scripts/cv.py summary {kind}{listed}\n```\n")
        parts.append(table if table else f"Not run for this version: {note}.\n")
        if kind == "rotations":
            parts.append(SELECTION.format(reported=", ".join(map(str, reported))))
    if archs is not None:  # the architecture study's projects (scripts/arch_study.py)
        parts.append(arch_section(archs))
    parts.append(
        "## The runs\n\nWhat each run changed from the committed `params.yaml` (as `dvc exp show` records it):\n"
    )
    base = flat(next(iter(found.values()))["params"]["params.yaml"]["data"]) if found else {}
    for name, data in found.items():
        if name == standard or name.startswith(tuple(PREFIX.values())):
            params = flat(data["params"]["params.yaml"]["data"])
            changed = ", ".join(f"`{k}={json.dumps(v)}`" for k, v in params.items() if base.get(k) != v)
            parts.append(f"- `{name}`: {changed or 'nothing'}")
    return "\n".join(parts) + "\n"


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
    sh = sub.add_parser("show", help="every commit and finished experiment, one line each (fits 120 columns)")
    pg = sub.add_parser("page", help="write the results page from the finished runs")
    pg.add_argument("--standard", default="cv-seed-42", help="the run on the standard split (default cv-seed-42)")
    pg.add_argument("--out", type=Path, default=Path("docs/results.md"))
    pg.add_argument("--commit", help="how to name the commit the runs were made from (default: their baseline's id)")
    pg.add_argument("--archs", type=Path, help="add the architecture study made in this folder (arch_study.py run)")
    for p in (s, sh, pg):
        p.add_argument("--from-json", type=Path, help="read this saved `dvc exp show --json` output instead")
    args = parser.parse_args(argv)

    if args.command == "queue":
        for command in queue_commands(args.kind, args.folds if args.kind == "rotations" else args.seeds, args.extra):
            print(" ".join(command), flush=True)
            if not args.dry_run and subprocess.run(command).returncode != 0:
                return 1
        return 0

    if args.from_json:
        shown = json.loads(args.from_json.read_text())
    else:
        done = subprocess.run(["dvc", "exp", "show", "--json"], capture_output=True, text=True)
        if done.returncode != 0:
            print(f"error: dvc exp show failed: {done.stderr.strip()}", file=sys.stderr)
            return 1
        shown = json.loads(done.stdout)
    if args.command == "show":
        print("\n".join(show_lines(list(experiments(shown)))))
        return 0
    found = dict(experiments(shown))
    if args.command == "page":
        command = f"python scripts/cv.py page --standard {args.standard} --out {args.out}"
        command += f" --archs {args.archs}" if args.archs else ""
        args.out.write_text(page(found, args.standard, command, shown, commit=args.commit, archs=args.archs))
        print(f"wrote {args.out}")
        return 0
    table, note = summary_markdown(found, args.kind, args.names)
    if table is None:
        print(f"error: {note}", file=sys.stderr)
        return 1
    if note:
        print(f"note: {note}", file=sys.stderr)
    print(table, end="")
    if args.markdown:
        args.markdown.write_text(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
