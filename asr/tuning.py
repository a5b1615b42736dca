"""Tuning the language-model weight (alpha) and word bonus (beta) on dev data.

The acoustic model runs once over the dev manifests; then every (alpha, beta)
pair of a grid decodes the same log-probabilities, and the pair with the
lowest WER (CER breaking ties) is stored in the model folder's
``decoding.json``, so ``--decoder lm`` uses it by default. The search is
single-threaded Python, so grid points can be decoded in parallel processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

from asr.decoders import DecoderConfig, decoder_from_config
from asr.errors import AudioError
from asr.manifest import read_manifest
from asr.metrics import error_rates
from asr.model_folder import read_decoding, write_decoding
from asr.transcriber import Transcriber

logger = logging.getLogger(__name__)

ALPHAS = (0.2, 0.4, 0.6, 0.8, 1.0, 1.3)  # language-model weights tried by default
BETAS = (0.0, 0.5, 1.0, 2.0, 3.0)  # word bonuses tried by default
LM_FOLDER = "lm"  # where a model folder keeps its language model


@dataclass(frozen=True)
class TuningResult:
    """The best pair and every grid point's figures."""

    alpha: float
    beta: float
    wer: float
    cer: float
    grid: tuple[dict, ...]  # {"alpha", "beta", "wer", "cer"} per pair tried


def tune_lm_weights(transcriber: Transcriber, manifests: Sequence[str | PathLike], *,
                    alphas: Sequence[float] = ALPHAS, betas: Sequence[float] = BETAS,
                    beam_width: int | None = None, jobs: int = 1) -> TuningResult:
    """Grid-search alpha and beta of the model's LM decoder on dev manifests.

    Parameters
    ----------
    transcriber : Transcriber
        Its model folder must hold a language model.
    manifests : sequence of path
        Dev manifests (never training data).
    alphas, betas : sequence of float
        The grid.
    beam_width : int, optional
        Beam width while tuning; default the folder's.
    jobs : int
        Processes decoding grid points at once (each loads the language model
        and holds every dev utterance's log-probabilities).

    Returns
    -------
    TuningResult
    """
    if jobs < 1:
        raise ValueError(f"jobs must be a positive number of processes, got {jobs}")
    folder = transcriber.folder
    if folder.decoding.lm_path is None:
        raise ValueError(f"{folder.path}: the model has no language model to tune (pass an LM with --lm)")
    references, scores = _dev_scores(transcriber, manifests)
    width = beam_width or folder.decoding.beam_width
    configs = [folder.decoding.for_kind("lm", beam_width=width, alpha=alpha, beta=beta)
               for alpha in alphas for beta in betas]
    dev = (references, scores, folder.alphabet, folder.frame_seconds)
    if jobs > 1 and len(configs) > 1:
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(configs)), _keep_dev_set, (dev,)) as pool:
            grid = _logged(pool.imap(_score_grid_point, configs))
    else:
        grid = _logged(_score(config, dev) for config in configs)
    best = min(grid, key=lambda point: (point["wer"], point["cer"]))
    return TuningResult(alpha=best["alpha"], beta=best["beta"], wer=best["wer"], cer=best["cer"], grid=tuple(grid))


def _logged(points) -> list[dict]:
    """The grid points, each logged as it is scored."""
    grid = []
    for point in points:
        logger.info("alpha %.2f beta %.2f: WER %.4f CER %.4f", point["alpha"], point["beta"], point["wer"],
                    point["cer"])
        grid.append(point)
    return grid


_dev_set: tuple = ()  # a pool worker's dev set: (references, log-probabilities, alphabet, frame seconds)


def _keep_dev_set(dev: tuple) -> None:
    """Hold the dev set in a pool worker for :func:`_score_grid_point` (the pool's initializer)."""
    global _dev_set
    _dev_set = dev


def _score_grid_point(config: DecoderConfig) -> dict:
    """:func:`_score` on the dev set this pool worker holds."""
    return _score(config, _dev_set)


def _score(config: DecoderConfig, dev: tuple) -> dict:
    """Decode ``dev`` (references, log-probabilities, alphabet, frame seconds) with one pair; its WER and CER."""
    references, scores, alphabet, frame_seconds = dev
    decoder = decoder_from_config(config, alphabet=alphabet)
    hypotheses = [decoder.decode(s, frame_seconds=frame_seconds).text for s in scores]
    rates = error_rates(references, hypotheses)
    return {"alpha": config.alpha, "beta": config.beta, "wer": rates.wer, "cer": rates.cer}


def _dev_scores(transcriber: Transcriber, manifests) -> tuple[list[str], list]:
    """References and acoustic log-probabilities of every loadable dev utterance."""
    references, samples = [], []
    for manifest in manifests:
        for utterance in read_manifest(manifest):
            try:
                samples.append(transcriber.load(utterance.audio_filepath))
                references.append(utterance.text)
            except AudioError as error:
                logger.error("%s; left out of tuning", error)
    return references, transcriber.log_probs_batch(samples)


def install_language_model(model_folder: str | PathLike, lm_folder: str | PathLike) -> DecoderConfig:
    """Copy an ``asr lm build`` folder's binary model and unigrams into a model folder's ``lm/``.

    Returns the folder's decoder settings, now of kind ``lm`` and pointing at
    them (also written to its ``decoding.json``).
    """
    model_folder, lm_folder = Path(model_folder), Path(lm_folder)
    binary = lm_folder / "lm.bin" if (lm_folder / "lm.bin").is_file() else lm_folder / "lm.arpa"
    if not binary.is_file():
        raise FileNotFoundError(f"{lm_folder}: no lm.bin or lm.arpa (build one with `asr lm build`)")
    target = model_folder / LM_FOLDER
    target.mkdir(exist_ok=True)
    shutil.copyfile(binary, target / binary.name)
    unigrams = None
    if (lm_folder / "unigrams.txt").is_file():
        unigrams = target / "unigrams.txt"
        shutil.copyfile(lm_folder / "unigrams.txt", unigrams)
    settings = read_decoding(model_folder).for_kind("lm", lm_path=target / binary.name, unigrams=unigrams)
    write_decoding(model_folder, settings)
    return settings
