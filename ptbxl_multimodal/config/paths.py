"""Where the pipeline's files live, defined once: every stage and test asks a `ProjectPaths` for them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProjectPaths:
    """The file layout of one project folder (the current directory for the stages, a temp copy in tests)."""

    root: Path = Path(".")

    @property
    def params_checked(self) -> Path:
        """Written once params.yaml passed the whole-file check; its text never changes, and git tracks it."""
        return self.root / "metrics" / "params_check.txt"

    @property
    def raw(self) -> Path:
        """The verified PTB-XL tree."""
        return self.root / "data" / "raw"

    @property
    def processed(self) -> Path:
        return self.root / "data" / "processed"

    @property
    def signals(self) -> Path:
        return self.processed / "signals.h5"

    @property
    def records(self) -> Path:
        """ecg_id, patient_id, strat_fold, labels and metadata of every processed record."""
        return self.processed / "records.h5"

    @property
    def preprocess_report(self) -> Path:
        return self.processed / "report.json"

    @property
    def features(self) -> Path:
        return self.root / "data" / "features"

    @property
    def fft(self) -> Path:
        return self.features / "fft.h5"

    @property
    def spectrogram(self) -> Path:
        return self.features / "spectrogram.h5"

    @property
    def split(self) -> Path:
        """ecg ids per split (train / val / test)."""
        return self.root / "data" / "splits" / "split.json"

    @property
    def split_summary(self) -> Path:
        return self.split.with_name("summary.json")

    @property
    def models(self) -> Path:
        return self.root / "models"

    def model(self, name: str) -> Path:
        """The checkpoint of a branch or of the fusion model."""
        return self.models / f"{name}.pt"

    def reference(self, name: str) -> Path:
        """The checkpoint of a reference comparator (compare.references)."""
        return self.models / "references" / f"{name}.pt"

    def fold_models(self, name: str) -> Path:
        """A branch's K cross-fitting checkpoints (fold0.pt ...), each trained without one group."""
        return self.models / "folds" / name

    def oof(self, name: str) -> Path:
        """A branch's out-of-fold logits on the training split (what the stacked fusion is fitted on)."""
        return self.root / "data" / "oof" / f"{name}.h5"

    @property
    def train_logs(self) -> Path:
        """dvclive logs, one folder per model."""
        return self.root / "metrics" / "train"

    @property
    def eval_metrics(self) -> Path:
        """Test metrics, one JSON per model."""
        return self.root / "metrics" / "eval"

    @property
    def eval_vs_best(self) -> Path:
        """Fusion minus the validation-best branch in the form the fusion deploys it, in test macro AUC (paired
        bootstrap), a metrics row."""
        return self.eval_metrics / "fusion_vs_best.json"

    def eval_vs_reference(self, name: str) -> Path:
        """Fusion minus a reference comparator (compare.references) in test macro AUC (paired bootstrap)."""
        return self.eval_metrics / f"fusion_vs_{name}.json"

    @property
    def eval_ablations(self) -> Path:
        """One metrics row per ablation (the fusion without a branch, or a branch alone) minus the fusion."""
        return self.eval_metrics / "views"

    @property
    def plots(self) -> Path:
        return self.root / "metrics" / "plots"

    @property
    def plots_template(self) -> Path:
        """The offline page `dvc plots show` fills (.dvc/config: plots.html_template)."""
        return self.root / "metrics" / "offline_plots.html"

    @property
    def eval_detail(self) -> Path:
        """Per-class test metrics, one JSON per model (read by the run report; thresholds live in the checkpoints)."""
        return self.root / "metrics" / "detail"

    @property
    def predictions(self) -> Path:
        return self.root / "data" / "predictions" / "test.csv"

    @property
    def reports(self) -> Path:
        return self.root / "reports"
