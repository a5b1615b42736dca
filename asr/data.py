"""The training input pipeline: cached features, length-bucketed batches, SpecAugment, tf.data.

Features are computed once per (utterance, feature config, perturbation) and
cached on disk. At training time the whole table sits in memory as one ragged
tensor; each batch is a list of row indices from a small Python plan, and the
gather, padding and SpecAugment run as TensorFlow ops inside ``tf.data``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import multiprocessing
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from asr.audio import load_audio  # noqa: E402
from asr.augmentation import Augmentation, augmentation_key  # noqa: E402
from asr.constants import SAMPLE_RATE  # noqa: E402
from asr.errors import AudioError  # noqa: E402
from asr.features import FeatureConfig, Normalizer, compute_features  # noqa: E402
from asr.manifest import Utterance  # noqa: E402

logger = logging.getLogger(__name__)

CACHE_VERSION = 1  # bump when the cache layout or feature code changes
AUGMENTATION_STREAM = 1  # third seed word of an augmentation's generator, apart from the noise's stream


@dataclass(frozen=True)
class Perturbation:
    """A change to the audio before features, drawn once per utterance: speed, white noise, or an augmentation."""

    speed: float = 1.0  # playback rate; 0.9 slower and lower, 1.1 faster and higher
    noise_snr_db: float | None = None  # dB signal-to-noise of added white noise; None: none
    seed: int = 0  # seeds the noise and the augmentation's draws
    augmentation: Augmentation | None = None  # a speaker or channel change from asr.augmentation; None: none

    def key(self) -> dict:
        """Everything the perturbed audio depends on, as plain values (for cache keys and metadata)."""
        values = {"speed": self.speed, "noise_snr_db": self.noise_snr_db, "seed": self.seed}
        if self.augmentation is not None:
            values["augmentation"] = augmentation_key(self.augmentation)
        return values

    def apply(self, samples: np.ndarray, index: int) -> np.ndarray:
        """Perturb one utterance's 16 kHz samples (``index`` varies the noise and the augmentation)."""
        if self.speed != 1.0:
            import librosa

            samples = librosa.resample(samples, orig_sr=SAMPLE_RATE * self.speed, target_sr=SAMPLE_RATE,
                                       res_type="soxr_hq")
        if self.noise_snr_db is not None:
            rng = np.random.default_rng([self.seed, index])
            power = float(np.mean(samples**2)) + 1e-12
            noise = rng.standard_normal(samples.shape) * np.sqrt(power / 10 ** (self.noise_snr_db / 10))
            samples = samples + noise.astype(np.float32)
        if self.augmentation is not None:
            samples = self.augmentation.apply(samples, np.random.default_rng([self.seed, index, AUGMENTATION_STREAM]))
        return samples.astype(np.float32)


@dataclass(frozen=True)
class SpecAugment:
    """Time and frequency masking (Park et al., 2019), applied per utterance in each batch."""

    frequency_masks: int = 2  # masks per utterance across feature dimensions
    frequency_width: int = 15  # largest mask, in feature dimensions
    time_masks: int = 2  # masks per utterance across frames
    time_width: int = 40  # largest mask, in frames
    time_fraction: float = 0.1  # no time mask wider than this share of the utterance


@dataclass(frozen=True, eq=False)
class FeatureTable:
    """Features of many utterances, concatenated: rows ``offsets[i]:offsets[i] + lengths[i]``.

    Attributes
    ----------
    values : np.ndarray [shape=(total_frames, dim), dtype=float16]
    lengths : np.ndarray [shape=(utterances,), dtype=int32]
        Frames of each utterance; 0 where its audio could not be loaded.
    """

    values: np.ndarray
    lengths: np.ndarray

    @functools.cached_property
    def offsets(self) -> np.ndarray:
        """Row where each utterance starts."""
        return np.concatenate([[0], np.cumsum(self.lengths)[:-1]]).astype(np.int64)

    def utterance(self, index: int) -> np.ndarray:
        """Features of one utterance, shape (frames, dim), float32."""
        start = int(self.offsets[index])
        return self.values[start:start + int(self.lengths[index])].astype(np.float32)


def cached_features(utterances: Sequence[Utterance], config: FeatureConfig, *, cache_dir: str | os.PathLike,
                    perturbation: Perturbation = Perturbation(), workers: int | None = None) -> FeatureTable:
    """Features of every utterance, from the disk cache or computed once and cached.

    The cache key covers the feature config, the perturbation and each audio
    file's path, size and modification time, so a changed input is recomputed.
    An utterance whose audio cannot be loaded gets length 0 and a logged
    warning naming the file.

    Parameters
    ----------
    utterances : sequence of Utterance
    config : FeatureConfig
    cache_dir : path
        Folder of caches; each table is a sub-folder named by its key.
    perturbation : Perturbation
    workers : int, optional
        Processes computing features; default: all cores.
    """
    folder = Path(cache_dir) / _cache_key(utterances, config, perturbation)
    if (folder / "lengths.npy").is_file():
        try:  # numpy's default allow_pickle=False: a cache never runs code
            return _read_table(folder, len(utterances))
        except (OSError, ValueError, EOFError, TypeError) as error:
            logger.warning("%s: damaged feature cache (%s); computing it again", folder, error)
            shutil.rmtree(folder, ignore_errors=True)
    table = _compute_table(utterances, config, perturbation, workers or os.cpu_count() or 1)
    _write_table(table, folder, config, perturbation, len(utterances))
    return FeatureTable(values=np.load(folder / "values.npy", mmap_mode="r"), lengths=table.lengths)


def _read_table(folder: Path, count: int) -> FeatureTable:
    """A cached table, checked: one length per utterance, and as many frames as the lengths add up to."""
    table = FeatureTable(values=np.load(folder / "values.npy", mmap_mode="r"),
                         lengths=np.load(folder / "lengths.npy"))
    if table.lengths.dtype.kind not in "iu" or table.lengths.shape != (count,) or table.values.ndim != 2 or table.values.shape[0] != table.lengths.sum():
        raise ValueError(f"expected {count} lengths adding up to the {table.values.shape[0]} frames stored")
    return table


def _cache_key(utterances: Sequence[Utterance], config: FeatureConfig, perturbation: Perturbation) -> str:
    """A hash of everything the cached features depend on."""
    digest = hashlib.sha256(json.dumps([CACHE_VERSION, config.to_dict(), perturbation.key()]).encode())
    for utterance in utterances:
        stat = os.stat(utterance.audio_filepath) if os.path.exists(utterance.audio_filepath) else None
        digest.update(f"{utterance.audio_filepath}|{stat and stat.st_size}|{stat and stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]


def _features_of(job: tuple[int, str, FeatureConfig, Perturbation]) -> tuple[int, np.ndarray | None, str | None]:
    """Worker: load, perturb and featurise one file; return an error message instead of raising."""
    index, path, config, perturbation = job
    try:
        samples = load_audio(path, sr=config.sample_rate)
    except AudioError as error:
        return index, None, str(error)
    try:
        samples = perturbation.apply(samples, index)
    except (ValueError, OSError, RuntimeError) as error:  # an augmentation that fails on this clip
        return index, None, f"{path}: cannot perturb ({error})"
    return index, compute_features(samples, config).astype(np.float16), None


def _compute_table(utterances, config, perturbation, workers: int) -> FeatureTable:
    """Compute all features, in parallel processes when ``workers > 1``."""
    jobs = [(i, str(u.audio_filepath), config, perturbation) for i, u in enumerate(utterances)]
    results: list[np.ndarray | None] = [None] * len(jobs)
    if workers > 1 and len(jobs) > 1:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            outputs = pool.imap_unordered(_features_of, jobs, chunksize=16)
            _collect(outputs, results)
    else:
        _collect(map(_features_of, jobs), results)
    empty = np.zeros((0, config.dim), dtype=np.float16)
    arrays = [empty if features is None else features for features in results]
    lengths = np.array([features.shape[0] for features in arrays], dtype=np.int32)
    return FeatureTable(values=np.concatenate(arrays) if arrays else empty, lengths=lengths)


def _collect(outputs, results: list) -> None:
    """Store worker outputs by index, logging the files that failed."""
    for index, features, error in outputs:
        if error is not None:
            logger.warning("%s; utterance skipped", error)
        results[index] = features


def _write_table(table: FeatureTable, folder: Path, config, perturbation, count: int) -> None:
    """Write a table into ``folder`` atomically (a temporary folder, then a rename)."""
    temporary = folder.with_name(f"{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    meta = {"config": config.to_dict(), "perturbation": perturbation.key(), "utterances": count,
            "frames": int(table.lengths.sum())}
    try:
        np.save(temporary / "values.npy", table.values)
        np.save(temporary / "lengths.npy", table.lengths)
        (temporary / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    except OSError:  # a full disk: leave no half table behind
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    try:
        os.replace(temporary, folder)
    except OSError:  # another process finished the same table first
        shutil.rmtree(temporary, ignore_errors=True)


def fit_normalizer(table: FeatureTable) -> Normalizer:
    """Per-dimension statistics of a table's frames, streamed in blocks."""
    block = 200_000
    present = table.values[: int(table.lengths.sum())]
    return Normalizer.fit(present[start:start + block] for start in range(0, present.shape[0], block))


def required_frames(label: Sequence[int]) -> int:
    """Fewest output frames CTC needs for a label: one per symbol plus a blank between repeats."""
    label = list(label)
    return len(label) + sum(1 for a, b in zip(label, label[1:]) if a == b)


@dataclass(frozen=True)
class BatchPlan:
    """Which rows go into which batch, epoch by epoch.

    Rows are ``variant * utterances + utterance`` over the stacked tables of
    each perturbation. Each epoch draws each utterance with its chance in
    ``shares`` (so that thousands of single keywords do not swamp the
    sentences), picks one variant per drawn utterance at random,
    sorts by length with a little noise (length buckets), packs batches up to
    ``max_frames`` padded frames or ``max_batch`` utterances, and shuffles the
    batch order. With ``sortagrad``, epoch 0 is plain shortest-first (still
    with a variant drawn per utterance: a one-epoch run sees its augmentation).
    """

    lengths: np.ndarray  # (variants, utterances) frames; 0 marks a row to leave out
    max_frames: int = 24_000  # padded frames (batch x longest) in one batch
    max_batch: int = 64  # utterances in one batch
    sortagrad: bool = True
    seed: int = 0
    shares: np.ndarray | None = None  # (utterances,) chance that an epoch draws each utterance; None: all, always

    def batches(self, epoch: int) -> list[np.ndarray]:
        """Row indices of each batch of ``epoch``."""
        rng = np.random.default_rng([self.seed, epoch])
        variants, count = self.lengths.shape
        if self.sortagrad and epoch == 0:  # shortest first, but with the perturbed copies drawn as in any epoch
            choice = rng.integers(0, variants, size=count) if variants > 1 else np.zeros(count, dtype=np.int64)
            jitter = np.zeros(count)
        else:
            choice = rng.integers(0, variants, size=count)
            jitter = rng.uniform(-0.5, 0.5, size=count)
        lengths = self.lengths[choice, np.arange(count)]
        if self.shares is not None:  # drawn last, so that plans without shares stay as they were
            lengths = np.where(rng.random(count) < self.shares, lengths, 0)
        keep = np.flatnonzero(lengths > 0)
        rows = choice[keep] * count + keep
        order = np.argsort(lengths[keep] * (1 + 0.1 * jitter[keep]), kind="stable")
        batches = self._pack(rows[order], lengths[keep][order])
        if not (self.sortagrad and epoch == 0):
            rng.shuffle(batches)
        return batches

    def _pack(self, rows: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
        """Cut length-sorted rows into batches within the frame and size budgets."""
        batches, start = [], 0
        for end in range(1, len(rows) + 1):
            longest = int(lengths[start:end].max())
            if end - start > 1 and (longest * (end - start) > self.max_frames or end - start > self.max_batch):
                batches.append(rows[start:end - 1])
                start = end - 1
        if start < len(rows):
            batches.append(rows[start:])
        return batches


def make_dataset(tables: Sequence[FeatureTable], labels: Sequence[Sequence[int]], plan: BatchPlan, *,
                 normalizer: Normalizer, spec_augment: SpecAugment | None = None,
                 frequency_warp: np.ndarray | None = None, first_epoch: int = 0,
                 repeat: bool = False, shard: tuple[int, int] | None = None) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of padded batches for :class:`asr.ctc.CTCTrainer`.

    Parameters
    ----------
    tables : sequence of FeatureTable
        One table per perturbation, all over the same utterances.
    labels : sequence of list of int
        Class ids of each utterance.
    plan : BatchPlan
        Its ``lengths`` must be the tables' lengths, stacked.
    normalizer : Normalizer
    spec_augment : SpecAugment, optional
        Masks applied to every batch (training only).
    frequency_warp : np.ndarray [shape=(factors, dim, dim)], optional
        Warp matrices (:meth:`asr.frequency_warp.FrequencyWarp.matrices`), one
        drawn per utterance of every batch and applied to its un-normalised
        frames before SpecAugment (training only).
    first_epoch : int
        The epoch the first pass over the dataset is (for resuming).
    repeat : bool
        Go on for ever (the caller sets steps per epoch), for multi-worker runs.
    shard : (workers, index), optional
        Keep every ``workers``-th batch starting at ``index``: this worker's
        share of a multi-worker run.

    Returns
    -------
    tf.data.Dataset
        Elements are dicts: ``features`` float32 (batch, frames, dim), zero
        padded; ``feature_lengths`` int32 (batch,); ``labels`` int32 (batch,
        symbols), zero padded; ``label_lengths`` int32 (batch,).
    """
    values = np.concatenate([normalizer(np.asarray(table.values)).astype(np.float16) for table in tables])
    lengths = np.concatenate([table.lengths for table in tables]).astype(np.int64)
    features = tf.RaggedTensor.from_row_lengths(tf.constant(values), tf.constant(lengths))
    label_table = tf.ragged.constant([list(label) for label in labels], dtype=tf.int32, ragged_rank=1)
    count = len(labels)
    warps = None if frequency_warp is None else tf.constant(frequency_warp, tf.float32)
    mean, std = tf.constant(normalizer.mean, tf.float32), tf.constant(normalizer.std, tf.float32)
    epochs = _EpochCounter(plan, first_epoch)
    dataset = tf.data.Dataset.from_generator(epochs, output_signature=tf.TensorSpec([None], tf.int64))
    if shard is not None:
        dataset = dataset.shard(*shard)
    if repeat:
        dataset = dataset.repeat()

    def to_batch(rows):
        batch_features = tf.gather(features, rows)
        batch_labels = tf.gather(label_table, rows % count)
        padded = tf.cast(batch_features.to_tensor(), tf.float32)
        feature_lengths = tf.cast(batch_features.row_lengths(), tf.int32)
        if warps is not None:
            padded = _warp_frequencies(padded, feature_lengths, warps, mean, std)
        if spec_augment is not None:
            padded = apply_spec_augment(padded, feature_lengths, spec_augment)
        return {"features": padded, "feature_lengths": feature_lengths,
                "labels": batch_labels.to_tensor(), "label_lengths": tf.cast(batch_labels.row_lengths(), tf.int32)}

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # see shard
    return dataset.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE).with_options(options)


class _EpochCounter:
    """The generator behind the dataset: each call is the next epoch's batch order."""

    def __init__(self, plan: BatchPlan, first_epoch: int):
        self.plan = plan
        self.epoch = first_epoch

    def __call__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        yield from self.plan.batches(epoch)


def _warp_frequencies(features: tf.Tensor, lengths: tf.Tensor, warps: tf.Tensor, mean: tf.Tensor,
                      std: tf.Tensor) -> tf.Tensor:
    """Warp each utterance's normalised frames by a random one of ``warps``, padding kept at zero.

    Parameters
    ----------
    features : tf.Tensor [shape=(batch, frames, dim), float32]
    lengths : tf.Tensor [shape=(batch,), int32]
    warps : tf.Tensor [shape=(factors, dim, dim), float32]
    mean, std : tf.Tensor [shape=(dim,), float32]
        The normaliser's statistics: the warp moves the un-normalised log energies.
    """
    chosen = tf.gather(warps, tf.random.uniform([tf.shape(features)[0]], 0, tf.shape(warps)[0], dtype=tf.int32))
    warped = tf.einsum("btd,bed->bte", features * std + mean, chosen)
    inside = tf.sequence_mask(lengths, tf.shape(features)[1], dtype=features.dtype)[:, :, tf.newaxis]
    return (warped - mean) / std * inside


def apply_spec_augment(features: tf.Tensor, lengths: tf.Tensor, config: SpecAugment) -> tf.Tensor:
    """Zero random frequency bands and time spans of each utterance (zero is the normalised mean).

    Time masks leave each utterance's last frame alone: the models take the
    last frame that is not all zeros for the end of the utterance
    (:class:`asr.models.ReverseUtterances`).

    Parameters
    ----------
    features : tf.Tensor [shape=(batch, frames, dim), float32]
    lengths : tf.Tensor [shape=(batch,), int32]
        True frames of each utterance; time masks stay inside them.
    """
    shape = tf.shape(features)
    batch, frames, dim = shape[0], shape[1], shape[2]
    masked = tf.zeros_like(features, dtype=tf.bool)
    bins = tf.range(dim)[tf.newaxis, tf.newaxis, :]
    for _ in range(config.frequency_masks):
        width = tf.random.uniform([batch, 1, 1], 0, config.frequency_width + 1, dtype=tf.int32)
        start = _random_below(dim - width + 1)
        masked |= (bins >= start) & (bins < start + width)
    steps = tf.range(frames)[tf.newaxis, :, tf.newaxis]
    limit = tf.minimum(config.time_width, tf.cast(config.time_fraction * tf.cast(lengths, tf.float32), tf.int32))
    limit = tf.reshape(limit, [batch, 1, 1])
    for _ in range(config.time_masks):  # never over the last frame, which marks where the utterance ends
        width = _random_below(limit + 1)
        start = _random_below(tf.reshape(lengths, [batch, 1, 1]) - width)
        masked |= (steps >= start) & (steps < start + width)
    return tf.where(masked, tf.zeros_like(features), features)


def _random_below(upper: tf.Tensor) -> tf.Tensor:
    """A uniform random integer in [0, upper) for each element of ``upper`` (upper >= 1)."""
    upper = tf.maximum(upper, 1)
    draw = tf.random.uniform(tf.shape(upper), 0.0, 1.0)
    return tf.minimum(tf.cast(draw * tf.cast(upper, tf.float32), tf.int32), upper - 1)
