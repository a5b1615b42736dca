"""Scoring a model on manifests: WER, CER and the real-time factor of the whole pipeline."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from asr.errors import AudioError, ManifestError
from asr.manifest import Manifest, Utterance, read_manifest
from asr.metrics import error_rates

if TYPE_CHECKING:  # the scoring here needs no TensorFlow; only evaluate_manifest's caller brings it
    from asr.transcriber import Transcriber

logger = logging.getLogger(__name__)

CHUNK = 32  # utterances loaded and run through the model together


@dataclass(frozen=True)
class Evaluation:
    """Figures of one model and decoder on one manifest.

    Attributes
    ----------
    wer, cer : float
        Corpus-level word and character error rates (jiwer, normalised text).
    rtf : float
        Real-time factor: wall-clock seconds from audio file to text, divided
        by seconds of audio (below 1 is faster than real time).
    failed : int
        Utterances whose audio could not be loaded (scored as empty hypotheses).
    skipped : int
        Manifest lines left out as unusable (broken JSON, missing audio, text outside the alphabet).
    """

    manifest: str
    model: str
    decoder: str
    utterances: int
    audio_seconds: float
    wer: float
    cer: float
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int
    rtf: float
    processing_seconds: float
    failed: int
    skipped: int = 0

    @property
    def complete(self) -> bool:
        """Whether every line of the manifest was read and every utterance transcribed."""
        return not (self.failed or self.skipped)

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class UtteranceResult:
    """Reference and hypothesis of one utterance, for ``--details``."""

    audio_filepath: str
    reference: str
    hypothesis: str
    wer: float
    error: str | None = None


def evaluate_manifest(transcriber: Transcriber, manifest: str | PathLike, *, decoder: str = "lm",
                      beam_width: int | None = None) -> tuple[Evaluation, list[UtteranceResult]]:
    """Transcribe every utterance of a manifest and score the transcripts.

    Parameters
    ----------
    transcriber : Transcriber
    manifest : path
        A JSON-lines manifest; its bad lines are skipped with a warning.
    decoder : {"greedy", "beam", "lm"}
    beam_width : int, optional
        Overrides the model's stored beam width.

    Returns
    -------
    Evaluation, list of UtteranceResult
        The figures, and one result per utterance in manifest order.

    Raises
    ------
    ManifestError
        If the manifest cannot be read or holds no usable utterance.
    """
    contents = read_manifest(manifest)
    utterances = list(contents)
    check_usable(contents)
    decode = transcriber.decoder(decoder, beam_width=beam_width)
    started = time.perf_counter()
    hypotheses, errors = [], []
    for start in range(0, len(utterances), CHUNK):
        chunk = utterances[start:start + CHUNK]
        samples, loaded = [], []
        for utterance in chunk:
            try:
                samples.append(transcriber.load(utterance.audio_filepath))
                loaded.append(True)
            except AudioError as error:
                logger.error("%s", error)
                loaded.append(False)
                errors.append(str(error))
        scores = iter(transcriber.log_probs_batch(samples))
        for ok in loaded:
            text = decode.decode(next(scores), frame_seconds=transcriber.folder.frame_seconds).text if ok else ""
            hypotheses.append(text)
    elapsed = time.perf_counter() - started
    return score(utterances, hypotheses, errors, manifest=manifest, model=str(transcriber.folder.path),
                 decoder=decoder, seconds=elapsed, skipped=len(contents.problems))


def check_usable(manifest: Manifest) -> None:
    """Raise ManifestError for a manifest with no usable utterance: there would be nothing to score."""
    if not manifest.utterances:
        raise ManifestError(manifest.path, None, f"no usable utterances ({len(manifest.problems)} bad line(s))")


def score(utterances: Sequence[Utterance], hypotheses: Sequence[str], errors: Sequence[str], *,
          manifest: str | PathLike, model: str, decoder: str,
          seconds: float, skipped: int = 0) -> tuple[Evaluation, list[UtteranceResult]]:
    """Score the hypotheses of a manifest's utterances: the figures and one result per utterance.

    Parameters
    ----------
    utterances : sequence of Utterance
    hypotheses : sequence of str
        One per utterance, empty where its audio failed.
    errors : sequence of str
        One message per utterance whose audio could not be loaded.
    manifest, model, decoder : str
        What the figures are of.
    seconds : float
        Wall-clock time from audio files to the hypotheses.
    skipped : int
        Lines of the manifest left out as unusable.
    """
    references = [u.text for u in utterances]
    rates = error_rates(references, hypotheses)
    audio_seconds = sum(u.duration for u in utterances)
    evaluation = Evaluation(
        manifest=str(manifest), model=model, decoder=decoder, utterances=len(utterances),
        audio_seconds=round(audio_seconds, 2), wer=rates.wer, cer=rates.cer, substitutions=rates.substitutions,
        deletions=rates.deletions, insertions=rates.insertions, reference_words=rates.reference_words,
        rtf=seconds / audio_seconds if audio_seconds else 0.0, processing_seconds=round(seconds, 2),
        failed=len(errors), skipped=skipped)
    details = [UtteranceResult(str(u.audio_filepath), u.text, h, error_rates([u.text], [h]).wer)
               for u, h in zip(utterances, hypotheses)]
    return evaluation, details


def default_decoder(transcriber: Transcriber) -> str:
    """The kind the model folder's ``decoding.json`` names (older folders: ``lm`` if they have an LM, else ``beam``)."""
    return transcriber.folder.decoding.kind


def manifest_name(path: str | PathLike) -> str:
    """A short name for a manifest in tables: its file name without extension."""
    return Path(path).stem
