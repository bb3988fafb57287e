"""The run report's "what each view adds" part, from evaluation.comparisons."""

from __future__ import annotations


def _interval(d: dict) -> str:
    return f"{d['diff']:+.3f} [{d['ci95_low']:+.3f}, {d['ci95_high']:+.3f}]"


def views_section(lfl: dict, n_test: int) -> list[str]:
    """Markdown: the fusion against the validation-best branch as deployed, and every ablation minus the fusion."""
    best = lfl["validation_best"]
    rows = [
        f"| {name} | {row['macro_auc']:.3f} | {_interval(d)} | {d['share_le_0']:.0%} |"
        for name, row in lfl["ablations"].items()
        for d in [row["minus_fusion"]]
    ]
    heads = (
        "For an embedding head the ablations are experiments: `dvc exp run -S 'fusion.branches=[time,freq,spec]'` "
        "and so on, compared with `dvc exp diff`."
        if lfl["form"] == "train@"
        else "`no_<branch>`: the combiner refitted without that branch on the same out-of-fold logits, applied "
        "to the same test logits (no retraining); `<branch>`: the branch as the fusion deploys it."
    )
    return [
        "## What each view adds",
        "",
        f"Fusion minus `{best}` (the best branch on validation, in the form the fusion deploys it: {lfl['form']}): "
        f"{_interval(lfl['fusion_minus_best'])} in test macro AUC ({n_test} records, paired bootstrap). Below, each "
        "ablation's test macro AUC minus the full fusion's: negative means the fusion is better with what was left "
        f"out. {heads}",
        "",
        "| ablation | test macro AUC | minus fusion [95% CI] | resamples where it is not better |",
        "|---|---|---|---|",
        *rows,
        "",
    ]
