"""What produced a branch's input: the settings read back from its HDF5 file, carried in every checkpoint.

Each settings type writes and reads its own attributes (`to_attrs` / `from_attrs`); this module only
assembles them, so predict and the report rebuild or describe an input without knowing attribute names.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ptbxl_multimodal.io import h5store
from ptbxl_multimodal.signal.filters import FilterSettings
from ptbxl_multimodal.signal.quality import QualitySettings
from ptbxl_multimodal.signal.spectral import FFTSettings, SpectrogramSettings


@dataclass(frozen=True)
class InputSpec:
    """A branch input's provenance and shape; signal settings are None for inputs not derived from the signal."""

    shape: tuple[int, ...]  # per record
    source_fs: int | None = None  # sampling rate of the records read (Hz)
    duration_s: float | None = None
    filters: FilterSettings | None = None
    fft: FFTSettings | None = None
    spectrogram: SpectrogramSettings | None = None
    quality: QualitySettings | None = None  # what preprocess counted as a usable signal
    dtype: str = "float32"  # as stored: predict rounds its inputs the same way

    @property
    def fs(self) -> int:
        """The sampling rate (Hz) of the filtered signal this input derives from."""
        if self.filters is None:
            raise ValueError("an input not derived from the signal (patient metadata) has no sampling rate")
        return self.filters.fs

    @property
    def signal_fs(self) -> int | None:
        """`fs`, or None for an input not derived from the signal."""
        return None if self.filters is None else self.filters.fs

    @classmethod
    def from_h5(cls, path: Path, dataset: str) -> InputSpec:
        """The spec of `dataset` in an HDF5 file written by the preprocess or features stage."""
        with h5store.reader(path) as h5:
            attrs = {k: h5store.get_attr(h5, k) for k in h5.attrs}
            shape = tuple(h5[dataset].shape[1:])
            dtype = h5[dataset].dtype.name
        if "fs" not in attrs:  # records.h5: metadata, not derived from the signal
            return cls(shape, dtype=dtype)
        return cls(
            shape,
            int(attrs["source_fs"]),
            float(attrs["duration_s"]),
            FilterSettings.from_attrs(attrs),
            FFTSettings.from_attrs(attrs) if "fft" in attrs else None,
            SpectrogramSettings.from_attrs(attrs) if "spectrogram" in attrs else None,
            QualitySettings.from_attrs(attrs),
            dtype,
        )

    def describe(self) -> str:
        """One line for reports: where the input comes from and its shape."""
        shape = " x ".join(map(str, self.shape))
        if self.filters is None:
            return f"patient metadata, {shape}"
        views = [v.describe() for v in (self.fft, self.spectrogram) if v is not None] or ["filtered signal"]
        return (
            f"{'; '.join(views)}, {shape}; from {self.source_fs} Hz records, {self.duration_s:g} s, "
            f"{self.filters.describe()}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict for a checkpoint (loadable with torch.load(weights_only=True))."""
        d = asdict(self)
        d["shape"] = list(self.shape)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputSpec:
        filters = d.get("filters")
        return cls(
            tuple(d["shape"]),
            d.get("source_fs"),
            d.get("duration_s"),
            FilterSettings.from_attrs(filters) if filters else None,
            FFTSettings(**d["fft"]) if d.get("fft") else None,
            SpectrogramSettings(**d["spectrogram"]) if d.get("spectrogram") else None,
            QualitySettings(**d["quality"]) if d.get("quality") else None,
            d.get("dtype", "float32"),
        )
