"""Charts of benchmark results (rows as :mod:`asr.benchmark` writes them), drawn with matplotlib."""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display needed

import matplotlib.pyplot as plt  # noqa: E402

from asr.benchmark import decoder_label, model_name  # noqa: E402


def wer_by_model(rows: Sequence[dict], path: str | PathLike) -> Path:
    """Grouped bars: WER of each model (groups) and decoder (bars), one panel a manifest.

    Parameters
    ----------
    rows : sequence of dict
        Benchmark rows with ``model``, ``decoder``, ``beam_width``, ``manifest`` and ``wer``.
    path : path
        The PNG to write.
    """
    manifests = _unique(Path(row["manifest"]).stem for row in rows)
    models = _unique(model_name(row["model"]) for row in rows)
    decoders = _unique(decoder_label(row) for row in rows)
    figure, axes = plt.subplots(1, len(manifests), figsize=(4 + 2.2 * len(models) * len(manifests), 4.2),
                                squeeze=False, sharey=True)
    width = 0.8 / len(decoders)
    for axis, manifest in zip(axes[0], manifests):
        for d, decoder in enumerate(decoders):
            heights = [_wer_of(rows, manifest, model, decoder) for model in models]
            positions = [m + (d - (len(decoders) - 1) / 2) * width for m in range(len(models))]
            bars = axis.bar(positions, [h if h is not None else 0 for h in heights], width, label=decoder)
            axis.bar_label(bars, labels=[f"{h:.2f}" if h is not None else "" for h in heights], fontsize=7)
        axis.set_xticks(range(len(models)), models, rotation=20, ha="right")
        axis.set_title(manifest)
        axis.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel("word error rate")
    axes[0][-1].legend(title="decoder", fontsize=8)
    return _save(figure, path)


def wer_against_rtf(rows: Sequence[dict], path: str | PathLike) -> Path:
    """A scatter of WER against real-time factor, one point a cell, labelled model / decoder."""
    manifests = _unique(Path(row["manifest"]).stem for row in rows)
    figure, axis = plt.subplots(figsize=(7, 4.5))
    markers = "osD^v<>"
    for m, manifest in enumerate(manifests):
        chosen = [row for row in rows if Path(row["manifest"]).stem == manifest]
        axis.scatter([row["rtf"] for row in chosen], [row["wer"] for row in chosen], marker=markers[m % 7],
                     label=manifest)
        for row in chosen:
            axis.annotate(_point_label(row), (row["rtf"], row["wer"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
    axis.set_xscale("log")
    axis.set_xlabel("real-time factor (processing s / audio s, log scale)")
    axis.set_ylabel("word error rate")
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(figure, path)


def _point_label(row: dict) -> str:
    """``model / decoder``, or just the name of a baseline (its own decoder)."""
    name = model_name(row["model"])
    return name if row["decoder"] == row["model"] else f"{name} / {decoder_label(row)}"


def _wer_of(rows, manifest: str, model: str, decoder: str) -> float | None:
    """The WER of one (manifest, model, decoder), None if not measured."""
    for row in rows:
        if (Path(row["manifest"]).stem, model_name(row["model"]), decoder_label(row)) == (manifest, model, decoder):
            return row["wer"]
    return None


def _unique(values) -> list:
    """Values in first-seen order, without repeats."""
    return list(dict.fromkeys(values))


def _save(figure, path) -> Path:
    """Write a figure as PNG and close it."""
    path = Path(path)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path
