"""WER benchmark runs: every model x decoder x manifest, with PocketSphinx and Whisper as optional baseline rows.

A run writes into one output folder::

    OUTPUT/
      cells/<key>.json    one finished cell each, written the moment it finishes
      results.json        every figure of every cell (and what failed)
      results.csv         the same, one row a cell
      results.md          a readable table
      wer_by_model.png    WER of each model and decoder, one panel a manifest
      wer_vs_rtf.png      WER against real-time factor

A cell is (model, decoder, beam width, manifest), the model identified by
the content of its folder (so a retrained model is measured anew). A rerun
into the same folder skips the cells already in ``cells/``, so a crash loses
at most the cell in progress. A model or manifest that cannot be read is reported with
its path, its cells are left out, and the other cells still run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path

from asr.baseline import baseline_name
from asr.errors import AsrError
from asr.files import atomic_path, write_text_atomically

logger = logging.getLogger(__name__)

DECODERS = ("greedy", "beam", "lm")
DEFAULT_MODEL_NAME = "default"  # how the bundled model is named in --model and in tables
UNPORTABLE_FILE_CHARACTERS = re.compile(r"[^\w.-]")  # kept out of cell file names (a colon, for one)
FINGERPRINTED = ("model.keras", "config.json", "normalizer.json", "alphabet.json", "decoding.json")
COLUMNS = ("model", "parameters", "decoder", "beam_width", "manifest", "utterances", "audio_seconds", "wer", "cer",
           "substitutions", "deletions", "insertions", "reference_words", "rtf", "processing_seconds", "failed",
           "skipped")


@dataclass(frozen=True)
class Cell:
    """One measurement of a benchmark run: a model with a decoder on a manifest."""

    model: str  # model folder, "default" for the bundled model, or a baseline's name
    decoder: str  # greedy, beam, lm, or the baseline's name
    manifest: str  # JSON-lines manifest
    beam_width: int | None = None  # None: the model's own setting (or no beam at all)
    fingerprint: str = ""  # digest of the model folder's files ("" for a baseline)

    @property
    def key(self) -> str:
        """A file name for the cell, stable across runs, of characters every file system takes."""
        digest = hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]
        name = f"{Path(self.model).name}-{self.decoder}-{Path(self.manifest).stem}"
        return f"{UNPORTABLE_FILE_CHARACTERS.sub('_', name)}-{digest}"  # "whisper:tiny.en" -> "whisper_tiny.en"


@dataclass(frozen=True)
class BenchmarkResult:
    """What a run measured and what it could not."""

    rows: list[dict]  # one per finished cell, keys COLUMNS
    errors: list[str]  # one message per cell or input that failed

    @property
    def ok(self) -> bool:
        """Whether every cell was measured."""
        return not self.errors


def run_benchmark(output: str | PathLike, *, models: Sequence[str] = (DEFAULT_MODEL_NAME,),
                  decoders: Sequence[str] = DECODERS, manifests: Sequence[str | PathLike],
                  beam_width: int | None = None, baselines: Sequence[str] = (), charts: bool = True) -> BenchmarkResult:
    """Measure every model x decoder x manifest and write the results into ``output``.

    Parameters
    ----------
    output : path
        The results folder; finished cells already in it are kept, not rerun.
    models : sequence of str
        Model folders; ``"default"`` is the model shipped with ``asr``.
    decoders : sequence of {"greedy", "beam", "lm"}
    manifests : sequence of path
    beam_width : int, optional
        Beam width of the beam and lm decoders (default: each model's own).
    baselines : sequence of str
        Other recognizers, each one more row on each manifest: ``pocketsphinx``,
        ``whisper`` (Whisper tiny.en) or ``whisper:MODEL`` (:mod:`asr.baseline`).
    charts : bool
        Draw the PNG charts (needs matplotlib).

    Returns
    -------
    BenchmarkResult
    """
    _check_choices(decoders, baselines)
    folder = Path(output)
    (folder / "cells").mkdir(parents=True, exist_ok=True)
    plans = [(_model_cells(model, decoders, manifests, beam_width), _model_runner(model)) for model in models]
    for spec in dict.fromkeys(baselines):
        name = baseline_name(spec)
        plans.append(([Cell(name, name, str(manifest)) for manifest in manifests], _baseline_runner(spec)))
    errors = [error for cells, runner in plans for error in _run_cells(folder, cells, runner)]
    rows = _finished_rows(folder, [cell for cells, _ in plans for cell in cells])
    errors += [f"{row['model']} / {row['decoder']} / {row['manifest']}: measured without {row.get('skipped') or 0} "
               f"bad manifest line(s) and {row['failed']} unreadable audio file(s)"
               for row in rows if row["failed"] or row.get("skipped")]  # cached cells count as much as new ones
    write_results(folder, rows, errors, charts=charts)
    return BenchmarkResult(rows=rows, errors=errors)


def _model_cells(model: str, decoders: Sequence[str], manifests: Sequence, beam_width: int | None) -> list[Cell]:
    """The cells of one model: every decoder on every manifest."""
    fingerprint = model_fingerprint(model)
    return [Cell(model, decoder, str(manifest), None if decoder == "greedy" else beam_width, fingerprint)
            for decoder in decoders for manifest in manifests]


def _finished_rows(folder: Path, cells: list[Cell]) -> list[dict]:
    """The saved rows of the cells that have one, ordered by manifest, model and decoder."""
    paths = [_cell_path(folder, cell) for cell in dict.fromkeys(cells)]
    rows = [json.loads(path.read_text(encoding="utf-8")) for path in paths if path.is_file()]
    return sorted(rows, key=lambda row: (row["manifest"], row["model"], row["decoder"], row["beam_width"] or 0))


def _cell_path(folder: Path, cell: Cell) -> Path:
    """Where a finished cell's row is kept."""
    return folder / "cells" / f"{cell.key}.json"


def _check_choices(decoders: Sequence[str], baselines: Sequence[str]) -> None:
    """Decoder and baseline names must be known before anything runs."""
    unknown = sorted(set(decoders) - set(DECODERS))
    if unknown or not decoders:
        raise ValueError(f"decoders must be some of {DECODERS}, got {list(decoders)}")
    for spec in baselines:
        baseline_name(spec)


def model_fingerprint(model: str) -> str:
    """A digest of the files a model folder's results depend on; "" when the folder is missing."""
    from asr.model_folder import default_model_path

    folder = default_model_path() if model == DEFAULT_MODEL_NAME else Path(model)
    files = [folder / name for name in FINGERPRINTED] + sorted((folder / "lm").glob("*"))
    files = [path for path in files if path.is_file()]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(folder).as_posix().encode())
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16] if files else ""


def _run_cells(folder: Path, cells: list[Cell], runner) -> list[str]:
    """Measure the cells not yet in ``folder/cells``; return an error message per failure."""
    cells = list(dict.fromkeys(cells))  # a manifest named twice is measured once
    todo = [cell for cell in cells if not _cell_path(folder, cell).is_file()]
    if len(todo) < len(cells):
        logger.info("%d cell(s) already measured; skipped", len(cells) - len(todo))
    errors = []
    for cell in todo:
        try:
            row = runner(cell)
        except (AsrError, OSError, ValueError) as error:
            message = f"{cell.model} / {cell.decoder} / {cell.manifest}: {error}"
            logger.error("%s", message)
            errors.append(message)
            continue
        write_text_atomically(_cell_path(folder, cell), json.dumps(row, indent=2) + "\n")
        logger.info("%s %s on %s: WER %.4f CER %.4f RTF %.3f", row["model"], row["decoder"], row["manifest"],
                    row["wer"], row["cer"], row["rtf"])
    return errors


def _model_runner(model: str):
    """A function measuring one cell of ``model``; the model is loaded on the first cell that needs it."""
    loaded = {}

    def run(cell: Cell) -> dict:
        from asr.evaluation import evaluate_manifest
        from asr.transcriber import load_model

        if "transcriber" not in loaded:
            loaded["transcriber"] = load_model(None if model == DEFAULT_MODEL_NAME else model)
        transcriber = loaded["transcriber"]
        evaluation, _ = evaluate_manifest(transcriber, cell.manifest, decoder=cell.decoder,
                                          beam_width=cell.beam_width)
        width = None if cell.decoder == "greedy" else cell.beam_width or transcriber.folder.decoding.beam_width
        return _row(evaluation.to_dict(), model=model, decoder=cell.decoder, beam_width=width,
                    parameters=transcriber.folder.network.parameters)

    return run


def _baseline_runner(spec: str):
    """A function measuring one cell of a baseline recognizer."""
    from asr.baseline import evaluate_recognizer, load_baseline

    loaded = {}

    def run(cell: Cell) -> dict:
        if "recognizer" not in loaded:  # started once, on the first cell
            loaded["recognizer"] = load_baseline(spec)
        evaluation, _ = evaluate_recognizer(cell.manifest, loaded["recognizer"], name=cell.model)
        return _row(evaluation.to_dict(), model=cell.model, decoder=cell.decoder, beam_width=None, parameters=None)

    return run


def _row(figures: dict, **overrides) -> dict:
    """A results row: the columns of COLUMNS, in order."""
    values = {**figures, **overrides}
    return {column: values.get(column) for column in COLUMNS}


def write_results(folder: str | PathLike, rows: list[dict], errors: Sequence[str] = (), *,
                  charts: bool = True) -> None:
    """Write ``results.json``, ``results.csv``, ``results.md`` and, with matplotlib, the PNG charts."""
    folder = Path(folder)
    write_text_atomically(folder / "results.json",
                          json.dumps({"rows": rows, "errors": list(errors)}, indent=2) + "\n")
    with atomic_path(folder / "results.csv") as temporary, open(temporary, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    write_text_atomically(folder / "results.md", markdown_table(rows))
    if charts and rows:
        try:
            from asr import charts as charting
        except ImportError as error:
            logger.warning("charts skipped: %s (pip install matplotlib)", error)
            return
        charting.wer_by_model(rows, folder / "wer_by_model.png")
        charting.wer_against_rtf(rows, folder / "wer_vs_rtf.png")


def markdown_table(rows: list[dict]) -> str:
    """The results as a Markdown table, one row a cell, grouped by manifest."""
    lines = ["| manifest | model | parameters | decoder | beam | WER | CER | sub / del / ins | RTF | utterances | "
             "audio (min) |", "|---|---|---:|---|---:|---:|---:|---|---:|---:|---:|"]
    for row in rows:
        parameters = f"{row['parameters'] / 1e6:.2f} M" if row["parameters"] else "-"
        edits = f"{row['substitutions']} / {row['deletions']} / {row['insertions']}"
        lines.append(f"| {Path(row['manifest']).stem} | {model_name(row['model'])} | {parameters} | "
                     f"{row['decoder']} | {row['beam_width'] or '-'} | {row['wer']:.3f} | {row['cer']:.3f} | "
                     f"{edits} | {row['rtf']:.3f} | {row['utterances']} | {row['audio_seconds'] / 60:.1f} |")
    return "\n".join(lines) + "\n"


def model_name(model: str) -> str:
    """A model's short name in tables and charts: its folder name."""
    return Path(model).name or model


def decoder_label(row: dict) -> str:
    """A decoder with its beam width, e.g. ``lm 64``."""
    return f"{row['decoder']} {row['beam_width']}" if row.get("beam_width") else row["decoder"]
