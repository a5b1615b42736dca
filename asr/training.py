"""Training an acoustic model with CTC: config, checkpoints, resume, dev WER each epoch.

A run writes one self-contained model folder::

    OUTPUT/
      config.json          the TrainConfig (model, features, optimiser, data)
      model.keras          the best acoustic model so far, by dev CER (Keras safe mode loads it)
      normalizer.json      feature statistics of the training data
      alphabet.json        the output symbols and blank index
      best.json            epoch and dev figures of model.keras
      history.json/.csv    loss, learning rate, dev WER/CER per epoch
      checkpoints/         epoch-NNNN.weights.h5 (model + optimiser) and epoch-NNNN.json
      logs/                TensorBoard
"""

from __future__ import annotations

import csv
import errno
import json
import logging
import math
import os
import shutil
import time
import warnings
import weakref
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import h5py  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from asr.alphabet import Alphabet  # noqa: E402
from asr.augmentation import Augmentation, augmentation_from_dict, augmentation_key  # noqa: E402
from asr.ctc import CTCTrainer  # noqa: E402
from asr.data import (BatchPlan, FeatureTable, Perturbation, SpecAugment, cached_features,  # noqa: E402
                      fit_normalizer, make_dataset, required_frames)
from asr.decoders import greedy_decode  # noqa: E402
from asr.features import FeatureConfig, Normalizer  # noqa: E402
from asr.frequency_warp import FrequencyWarp  # noqa: E402
from asr.files import atomic_path, ensure_room, remove_temporaries, write_text_atomically  # noqa: E402
from asr.manifest import Utterance, read_manifest  # noqa: E402
from asr.metrics import error_rates  # noqa: E402
from asr.model_folder import ModelFolder, load_model_folder  # noqa: E402
from asr.models import build_model, copy_weights, output_length  # noqa: E402

logger = logging.getLogger(__name__)

STRATEGIES = ("default", "mirrored", "multiworker")
MODEL_FILE = "model.keras"
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run depends on; saved as ``config.json`` in the model folder."""

    train_manifests: tuple[str, ...]  # JSON-lines manifests to train on
    output: str  # the model folder to write
    dev_manifests: tuple[str, ...] = ()  # manifests scored (greedy WER/CER) after each epoch
    model: str = "cnn_bigru"  # a name from asr.models.VARIANTS
    model_options: dict = field(default_factory=dict)  # the variant's hyper-parameters
    features: FeatureConfig = FeatureConfig()
    epochs: int = 30  # epochs in all, counting those already done when resuming
    learning_rate: float = 1e-3  # peak, reached after the warm-up
    warmup_epochs: float = 1.0  # linear warm-up, then cosine decay to final_learning_rate
    final_learning_rate: float = 1e-5
    clip_norm: float = 5.0  # global gradient-norm clipping
    max_frames: int = 24_000  # padded feature frames in one batch
    max_batch: int = 64  # utterances in one batch
    max_duration: float = 20.0  # s: longer training utterances are left out
    spec_augment: SpecAugment | None = SpecAugment()
    speeds: tuple[float, ...] = (1.0,)  # speed perturbation: one cached copy of the data per factor
    noise_snr_db: tuple[float, ...] = ()  # noise perturbation: one cached copy per SNR
    augmentations: tuple[Augmentation, ...] = ()  # one cached copy each, parameters drawn per utterance
    frequency_warp: FrequencyWarp | None = None  # vocal tract length perturbation, drawn per utterance each epoch
    source_shares: dict = field(default_factory=dict)  # manifest name (file stem) -> share drawn each epoch
    agreed_labels_only: bool = False  # leave out machine ("whisper") labels that the two teachers disagree on
    sortagrad: bool = True  # first epoch shortest utterances first
    patience: int = 10  # stop after this many epochs without a better dev score; 0 never
    keep_checkpoints: int = 2  # newest epoch checkpoints kept (the best model is kept apart); >= 1
    seed: int = 0
    cache_dir: str = "cache/features"
    strategy: str = "default"  # default | mirrored | multiworker (TF_CONFIG)
    init_from: str | None = None  # a model folder whose weights and normaliser start the run (fine-tuning)

    def __post_init__(self):
        if not self.train_manifests:
            raise ValueError("train_manifests must name at least one manifest")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if min(self.epochs, self.max_frames, self.max_batch, self.keep_checkpoints) < 1:
            raise ValueError("epochs, max_frames, max_batch and keep_checkpoints must be positive")
        if not self.speeds or 1.0 not in self.speeds:
            raise ValueError(f"speeds must include 1.0, got {self.speeds}")
        bad_shares = {name: share for name, share in self.source_shares.items() if not 0 < share <= 1}
        if bad_shares:
            raise ValueError(f"source shares must be in (0, 1], got {bad_shares}")

    def to_dict(self) -> dict:
        """Plain values for JSON."""
        values = asdict(self)
        values["augmentations"] = [augmentation_key(augmentation) for augmentation in self.augmentations]
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """Rebuild a config from :meth:`to_dict` output."""
        values = dict(values)
        values["features"] = FeatureConfig.from_dict(values["features"])
        if values.get("spec_augment") is not None:
            values["spec_augment"] = SpecAugment(**values["spec_augment"])
        if values.get("frequency_warp") is not None:
            values["frequency_warp"] = FrequencyWarp(**values["frequency_warp"])
        values["augmentations"] = tuple(augmentation_from_dict(key) for key in values.get("augmentations", ()))
        for name in ("train_manifests", "dev_manifests", "speeds", "noise_snr_db"):
            values[name] = tuple(values.get(name, ()))
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})

    def save(self, path) -> None:
        """Write as JSON."""
        write_json_atomically(Path(path), self.to_dict())

    @classmethod
    def load(cls, path) -> "TrainConfig":
        """Read a config written by :meth:`save`."""
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@dataclass(frozen=True, eq=False)
class _Split:
    """Utterances with their cached feature tables (one per perturbation) and labels."""

    utterances: list[Utterance]
    tables: list[FeatureTable]
    labels: list[list[int]]
    names: list[str]  # manifest of each utterance


def train(config: TrainConfig, *, resume: bool = False, verbose: int | str = "auto") -> Path:
    """Train (or resume training) and write the model folder ``config.output``.

    With ``config.init_from`` the run starts from that model folder's weights
    and normaliser, with a fresh optimiser and learning-rate schedule; its
    model variant, options and features must be those of ``config``.

    Parameters
    ----------
    config : TrainConfig
    resume : bool
        Continue from the newest complete checkpoint in the folder, with its
        optimiser state and epoch count; the folder's saved config is used,
        with ``epochs`` and ``keep_checkpoints`` taken from ``config``. A run
        whose history already reaches ``epochs`` is left as it is, without
        reading its data or needing a checkpoint.
    verbose : int or "auto"
        Keras progress output.

    Returns
    -------
    Path
        The model folder.
    """
    strategy = _strategy(config.strategy)
    output = Path(config.output)
    if resume and (output / CONFIG_FILE).is_file():
        config = replace(TrainConfig.load(output / CONFIG_FILE), epochs=config.epochs, output=config.output,
                         keep_checkpoints=config.keep_checkpoints)
        finished = _finished_epochs(output)
        if finished >= config.epochs and _is_complete(output, finished):
            logger.info("%s: already trained for %d epochs", output, finished)
            return output
    elif (output / CONFIG_FILE).is_file() and _checkpoints(output):
        raise FileExistsError(f"{output} already holds a training run; pass resume=True (--resume) to continue it")
    keras.utils.set_random_seed(config.seed)
    alphabet = Alphabet()
    chief = _is_chief(strategy)
    if not chief:  # other workers of a multi-worker run write their copy apart, as Keras advises
        task_id = strategy.cluster_resolver.task_id
        output = output / "workers" / f"worker-{task_id}"
        config = replace(config, output=str(output))
    start = load_model_folder(config.init_from) if config.init_from else None
    if start is not None:
        _check_same_architecture(config, start)
    train_split, normalizer = _prepare_training_data(config, alphabet,
                                                     normalizer=start.normalizer if start else None)
    dev_split = prepare_dev_data(config, alphabet)
    output.mkdir(parents=True, exist_ok=True)
    config.save(output / CONFIG_FILE)
    normalizer.save(output / "normalizer.json")
    alphabet.save(output / "alphabet.json")
    with strategy.scope():
        acoustic = build_model(config.model, input_dim=config.features.dim, num_classes=alphabet.num_classes,
                               **config.model_options)
        if start is not None:
            copy_weights(start.acoustic, acoustic)
            logger.info("starting from the weights of %s", start.path)
    plan = BatchPlan(lengths=_alignable_lengths(train_split, acoustic), max_frames=config.max_frames,
                     max_batch=config.max_batch, sortagrad=config.sortagrad, seed=config.seed,
                     shares=source_shares(config.source_shares, train_split.names))
    workers, worker_index = _worker_position(strategy)
    steps_per_epoch = max(1, len(plan.batches(1)) // workers)
    with strategy.scope():
        trainer = CTCTrainer(acoustic, blank_index=alphabet.blank_index)
        trainer.compile(optimizer=make_optimizer(config, steps_per_epoch))
        trainer.optimizer.build(acoustic.trainable_variables)
    state = _restore(trainer, output) if resume else {"epoch": 0, "history": []}
    if state["epoch"] >= config.epochs:
        logger.info("%s: already trained for %d epochs", output, state["epoch"])
        return output
    dataset = make_dataset(train_split.tables, train_split.labels, plan, normalizer=normalizer,
                           spec_augment=config.spec_augment, first_epoch=state["epoch"],
                           frequency_warp=config.frequency_warp.matrices(config.features) if config.frequency_warp else None,
                           repeat=workers > 1, shard=(workers, worker_index) if workers > 1 else None)
    callbacks = [_EpochEnd(config, acoustic, dev_split, normalizer, alphabet, state),
                 keras.callbacks.TensorBoard(log_dir=str(output / "logs"), write_graph=False)]
    logger.info("training %s (%d parameters) on %d utterances, %d batches an epoch", config.model,
                acoustic.count_params(), len(train_split.utterances), steps_per_epoch)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*ran out of data.*")
        warnings.filterwarnings("ignore", message=".*shuffle=True.*")
        trainer.fit(dataset, epochs=config.epochs, initial_epoch=state["epoch"], callbacks=callbacks,
                    verbose=verbose, steps_per_epoch=steps_per_epoch if workers > 1 else None)
    return output


def _strategy(name: str) -> tf.distribute.Strategy:
    """The tf.distribute strategy of a name; multiworker reads TF_CONFIG."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the outputs (worker 0 or the chief of a multi-worker run)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type == "chief" or (resolver.task_type == "worker" and resolver.task_id == 0
                                             and "chief" not in resolver.cluster_spec().as_dict())


def _worker_position(strategy: tf.distribute.Strategy) -> tuple[int, int]:
    """(number of worker processes, this one's index) of a multi-worker run; (1, 0) otherwise."""
    resolver = getattr(strategy, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster:
        return 1, 0
    tasks = [("chief", i) for i in range(len(cluster.get("chief", [])))]
    tasks += [("worker", i) for i in range(len(cluster.get("worker", [])))]
    return len(tasks), tasks.index((resolver.task_type, resolver.task_id))


def make_optimizer(config: TrainConfig, steps_per_epoch: int) -> keras.optimizers.Optimizer:
    """Adam with linear warm-up and cosine decay, stepped per batch."""
    warmup = int(config.warmup_epochs * steps_per_epoch)
    decay = max(1, config.epochs * steps_per_epoch - warmup)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate / 100, decay_steps=decay,
        alpha=config.final_learning_rate / config.learning_rate, warmup_target=config.learning_rate,
        warmup_steps=warmup)
    return keras.optimizers.Adam(learning_rate=schedule, global_clipnorm=config.clip_norm)


def _read_manifests(paths) -> tuple[list[Utterance], list[str]]:
    """Utterances of several manifests and the manifest name of each."""
    utterances, names = [], []
    for path in paths:
        manifest = read_manifest(path)
        utterances.extend(manifest)
        names.extend([Path(path).stem] * len(manifest))
    return utterances, names


def _check_same_architecture(config: TrainConfig, start: ModelFolder) -> None:
    """The run must build a model that takes ``start``'s weights, on the same features.

    Model options that carry no weights (``dropout``, ``utterance_norm``) may
    differ: a fine-tune can change them. The others must give every layer the
    shapes of ``start``'s.

    Raises
    ------
    ValueError
        Naming each setting that differs, with both values.
    """
    theirs = {"model": start.config.get("model"), "model_options": start.config.get("model_options", {}),
              "features": start.features}
    ours = {"model": config.model, "model_options": config.model_options, "features": config.features}
    differences = [f"{name}: {ours[name]!r} here, {theirs[name]!r} in {start.path}"
                   for name in ("model", "features") if ours[name] != theirs[name]]
    if not differences and ours["model_options"] != theirs["model_options"]:
        candidate = build_model(config.model, input_dim=config.features.dim, num_classes=start.alphabet.num_classes,
                                **config.model_options)
        try:
            copy_weights(start.acoustic, candidate)
        except ValueError as error:
            differences.append(f"model_options: {ours['model_options']!r} here, {theirs['model_options']!r} "
                               f"in {start.path} ({error})")
    if differences:
        raise ValueError("init_from must hold the model this run trains; " + "; ".join(differences))


def _prepare_training_data(config: TrainConfig, alphabet: Alphabet, *,
                           normalizer: Normalizer | None = None) -> tuple[_Split, Normalizer]:
    """Training utterances, their cached features under each perturbation, the normaliser.

    The normaliser is fitted on the unperturbed training features unless one is given.
    """
    utterances, names = _read_manifests(config.train_manifests)
    kept = [i for i, u in enumerate(utterances) if u.duration <= config.max_duration]
    if len(kept) < len(utterances):
        logger.warning("left out %d training utterance(s) longer than %.0f s", len(utterances) - len(kept),
                       config.max_duration)
    if config.agreed_labels_only:
        agreed = [i for i in kept if utterances[i].extra.get("label") != "whisper" or utterances[i].extra.get("agree")]
        logger.info("left out %d machine label(s) the two teachers disagree on", len(kept) - len(agreed))
        kept = agreed
    utterances, names = [utterances[i] for i in kept], [names[i] for i in kept]
    source_shares(config.source_shares, names)  # a misnamed manifest fails now, not after hours of features
    perturbations = [Perturbation(speed=speed) for speed in config.speeds]
    perturbations += [Perturbation(noise_snr_db=snr, seed=config.seed) for snr in config.noise_snr_db]
    perturbations += [Perturbation(augmentation=augmentation, seed=config.seed) for augmentation in config.augmentations]
    tables = [cached_features(utterances, config.features, cache_dir=config.cache_dir, perturbation=p)
              for p in perturbations]
    normalizer = normalizer if normalizer is not None else fit_normalizer(tables[0])
    labels = [alphabet.encode(u.text) for u in utterances]
    return _Split(utterances, tables, labels, names), normalizer


def source_shares(shares: dict[str, float], names: list[str]) -> np.ndarray | None:
    """Each utterance's chance of being drawn in an epoch, from its manifest's share (1 if not named).

    Parameters
    ----------
    shares : dict of str to float
        Manifest name (file stem, e.g. ``fsdd``) to the share of its utterances drawn each epoch.
    names : list of str
        The manifest name of each training utterance.

    Returns
    -------
    np.ndarray [shape=(len(names),), dtype=float64] or None
        None when no share is set.

    Raises
    ------
    ValueError
        If a share names no training manifest.
    """
    if not shares:
        return None
    unknown = sorted(set(shares) - set(names))
    if unknown:
        raise ValueError(f"source shares name no training manifest: {unknown}; the manifests are {sorted(set(names))}")
    return np.array([shares.get(name, 1.0) for name in names], dtype=np.float64)


def prepare_dev_data(config: TrainConfig, alphabet: Alphabet) -> _Split | None:
    """Dev utterances and their cached features, or None without dev manifests."""
    if not config.dev_manifests:
        return None
    utterances, names = _read_manifests(config.dev_manifests)
    table = cached_features(utterances, config.features, cache_dir=config.cache_dir)
    return _Split(utterances, [table], [alphabet.encode(u.text) for u in utterances], names)


def _alignable_lengths(split: _Split, acoustic: keras.Model) -> np.ndarray:
    """Frames of each (perturbation, utterance), 0 where the label needs more frames than the model outputs."""
    needed = np.array([required_frames(label) for label in split.labels])
    lengths = np.stack([table.lengths for table in split.tables]).astype(np.int64)
    unalignable = (output_length(acoustic, lengths) < needed[None, :]) & (lengths > 0)
    dropped = np.flatnonzero(unalignable.any(axis=0))
    for i in dropped[:20]:
        logger.warning("%s: transcript of %d symbols is too long for its audio; utterance dropped",
                       split.utterances[i].audio_filepath, len(split.labels[i]))
    if dropped.size:
        logger.warning("dropped %d utterance(s) whose transcripts CTC cannot align", dropped.size)
    lengths[:, dropped] = 0
    return lengths


def greedy_transcripts(acoustic: keras.Model, table: FeatureTable, normalizer: Normalizer, alphabet: Alphabet, *,
                       max_frames: int = 40_000) -> list[str]:
    """Greedy transcripts of every utterance of a table (empty where its audio failed)."""
    forward = _inference_function(acoustic)
    transcripts = [""] * len(table.lengths)
    plan = BatchPlan(lengths=table.lengths[None], max_frames=max_frames, max_batch=128, sortagrad=True)
    for rows in plan.batches(0):
        batch = [normalizer(table.utterance(int(i))) for i in rows]
        longest = max(features.shape[0] for features in batch)
        padded = np.stack([np.pad(f, ((0, longest - f.shape[0]), (0, 0))) for f in batch])
        log_probs = forward(tf.constant(padded)).numpy()
        frames = output_length(acoustic, table.lengths[rows].astype(np.int64))
        for i, scores, n in zip(rows, log_probs, frames):
            transcripts[int(i)] = greedy_decode(scores[: int(n)], alphabet=alphabet)
    return transcripts


_INFERENCE_FUNCTIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its traced forward pass


def _inference_function(acoustic: keras.Model):
    """The model's forward pass in inference mode as a graph function, traced once per model (not every epoch)."""
    if acoustic not in _INFERENCE_FUNCTIONS:
        model = weakref.ref(acoustic)  # the function must not keep its model alive in the table
        signature = [tf.TensorSpec([None, None, acoustic.input_shape[-1]], tf.float32)]
        _INFERENCE_FUNCTIONS[acoustic] = tf.function(
            tf.autograph.experimental.do_not_convert(lambda x: model()(x, training=False)), input_signature=signature)
    return _INFERENCE_FUNCTIONS[acoustic]


def dev_scores(acoustic, split: _Split, normalizer: Normalizer, alphabet: Alphabet) -> dict[str, float]:
    """Greedy WER and CER on the dev split, pooled and per manifest."""
    hypotheses = greedy_transcripts(acoustic, split.tables[0], normalizer, alphabet)
    references = [u.text for u in split.utterances]
    scores = {}
    for name in sorted(set(split.names)):
        chosen = [i for i, n in enumerate(split.names) if n == name]
        rates = error_rates([references[i] for i in chosen], [hypotheses[i] for i in chosen])
        scores[f"dev_wer_{name}"], scores[f"dev_cer_{name}"] = rates.wer, rates.cer
    pooled = error_rates(references, hypotheses)
    scores["dev_wer"], scores["dev_cer"] = pooled.wer, pooled.cer
    return scores


class _EpochEnd(keras.callbacks.Callback):
    """After each epoch: dev WER/CER, checkpoint, best model, history, early stopping."""

    def __init__(self, config, acoustic, dev_split, normalizer, alphabet, state):
        super().__init__()
        self.config, self.acoustic, self.dev_split = config, acoustic, dev_split
        self.normalizer, self.alphabet, self.state = normalizer, alphabet, state
        self.output = Path(config.output)
        self.started = time.monotonic()

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        record = {"epoch": epoch + 1, "loss": float(logs.get("loss", math.nan)),
                  "learning_rate": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                  "seconds": round(time.monotonic() - self.started, 1)}
        if self.dev_split is not None:
            scores = dev_scores(self.acoustic, self.dev_split, self.normalizer, self.alphabet)
            record.update(scores)
            logs.update(scores)
            logger.info("epoch %d: dev WER %.4f CER %.4f", epoch + 1, scores["dev_wer"], scores["dev_cer"])
        self.state["history"].append(record)
        self.state["epoch"] = epoch + 1
        best = _best_epoch(self.state["history"])
        if best is record:
            export_model(self.acoustic, self.output, record)
        _write_history(self.output, self.state["history"])
        _save_checkpoint(self.model, self.output, self.state, keep=self.config.keep_checkpoints)
        if self.config.patience and epoch + 1 - best["epoch"] >= self.config.patience:
            logger.info("no dev improvement for %d epochs: stopping", self.config.patience)
            self.model.stop_training = True


def _best_epoch(history: list[dict]) -> dict | None:
    """The epoch record with the lowest dev CER (then WER), or the lowest loss without dev data.

    Character error rate, not WER, picks the model: a character model's greedy
    WER sits near 1.0 for many epochs while its CER falls steadily, and the CER
    is what the beam and LM decoders build words from.
    """
    if not history:
        return None
    return min(history, key=lambda r: (r["dev_cer"], r["dev_wer"]) if "dev_cer" in r else (r["loss"],))


def export_model(acoustic: keras.Model, output: Path, record: dict) -> None:
    """Write the acoustic model as ``model.keras`` (atomically) and its figures as ``best.json``."""
    ensure_room(output / MODEL_FILE, _bytes_to_save(acoustic.weights))
    with atomic_path(output / MODEL_FILE, suffix=".keras") as temporary:
        acoustic.save(temporary)
    write_json_atomically(output / "best.json", record)


def checkpoint_path(checkpoints: Path, epoch: int) -> Path:
    """The weights file of one epoch in a checkpoint folder (``epoch-NNNN.weights.h5``)."""
    return checkpoints / f"epoch-{epoch:04d}.weights.h5"


def _state_path(checkpoints: Path, epoch: int) -> Path:
    """The training-state file of one epoch in a checkpoint folder (``epoch-NNNN.json``), beside its weights."""
    return checkpoints / f"epoch-{epoch:04d}.json"


def saved_epochs(checkpoints: str | os.PathLike) -> list[int]:
    """The epochs that have a weights file in a checkpoint folder, oldest first."""
    return sorted(int(path.name.split("-")[1].split(".")[0]) for path in Path(checkpoints).glob("epoch-*.weights.h5"))


def _checkpoints(output: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints, oldest first: (epoch, weights file) with their state file present."""
    folder = output / "checkpoints"
    return [(epoch, checkpoint_path(folder, epoch)) for epoch in saved_epochs(folder)
            if _state_path(folder, epoch).is_file()]


def _save_checkpoint(trainer: keras.Model, output: Path, state: dict, *, keep: int) -> None:
    """Write model and optimiser state of this epoch so that a kill at any moment leaves a loadable one.

    The state JSON goes first and the weights are renamed into place last: a
    checkpoint counts only once both are there.
    """
    folder = output / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    epoch = state["epoch"]
    write_json_atomically(_state_path(folder, epoch), state)
    weights = checkpoint_path(folder, epoch)
    ensure_room(weights, _bytes_to_save(trainer.weights + trainer.optimizer.variables))
    with atomic_path(weights, suffix=".weights.h5") as temporary:
        trainer.save_weights(temporary)
        _check_whole(temporary)
    for old_epoch, old_weights in _checkpoints(output)[:-keep]:
        old_weights.unlink(missing_ok=True)
        _state_path(folder, old_epoch).unlink(missing_ok=True)


def _bytes_to_save(variables) -> int:
    """About the bytes a weights file of these variables takes: their data, a tenth more, and 256 kB."""
    data = sum(int(np.prod(v.shape)) * np.dtype(keras.backend.standardize_dtype(v.dtype)).itemsize
               for v in variables)
    return int(data * 1.1) + 256 * 1024


def _check_whole(weights: Path) -> None:
    """Read back every array of a weights file just written.

    h5py reports a failed final write (a full disk) only as an ignored error
    while closing, so ``save_weights`` returns as if all went well; reading
    the file back is what tells.

    Raises
    ------
    OSError
        If the file cannot be read back whole.
    """
    try:
        with h5py.File(weights, "r") as handle:
            handle.visititems(lambda name, item: item[()] if isinstance(item, h5py.Dataset) else None)
    except Exception as error:  # h5py raises OSError, KeyError or RuntimeError for a short file
        free = shutil.disk_usage(weights.parent).free
        raise OSError(errno.EIO, f"checkpoint not written whole ({error}); {free} bytes free on its disk",
                      str(weights)) from error


def _restore(trainer: keras.Model, output: Path) -> dict:
    """Load the newest checkpoint that loads; return its state (epoch 0 if there is none).

    Temporary files left by a run killed while writing are removed first; they are never loaded.

    Raises
    ------
    FileExistsError
        If no checkpoint loads but the folder's history records epochs, which
        a fresh start would overwrite.
    """
    for stale in remove_temporaries(output, output / "checkpoints"):
        logger.info("removed %s, left by a run stopped while writing it", stale)
    for epoch, weights in reversed(_checkpoints(output)):
        try:
            trainer.load_weights(weights)
            state = json.loads(_state_path(weights.parent, epoch).read_text())
        except Exception as error:  # a damaged file: fall back to the one before
            logger.warning("%s: cannot load checkpoint (%s); trying an older one", weights, error)
            continue
        logger.info("resuming from %s (epoch %d)", weights, epoch)
        return state
    history = output / "history.json"
    if history.is_file() and json.loads(history.read_text()):
        raise FileExistsError(f"{output}: history.json records finished epochs but no checkpoint is left to resume "
                              "from; starting afresh would overwrite the run (move it aside to start a new one)")
    logger.info("%s: no checkpoint to resume from; starting afresh", output)
    return {"epoch": 0, "history": []}


def _is_complete(output: Path, finished: int) -> bool:
    """Whether the run's model is saved and no checkpoint lags behind its ``finished`` epochs of history.

    A run killed between writing its history and its checkpoint has a newest
    checkpoint one epoch behind; that epoch is trained again. A finished run
    whose checkpoints were all removed (as committed) is complete.
    """
    checkpoints = _checkpoints(output)
    return (output / MODEL_FILE).is_file() and (not checkpoints or checkpoints[-1][0] >= finished)


def _finished_epochs(output: Path) -> int:
    """The last epoch that the run's history.json records (0 if none): a finished run needs no checkpoint."""
    history_file = output / "history.json"
    history = json.loads(history_file.read_text()) if history_file.is_file() else []
    return max((record["epoch"] for record in history), default=0)


def _write_history(output: Path, history: list[dict]) -> None:
    """history.json and history.csv, one row an epoch."""
    write_json_atomically(output / "history.json", history)
    columns = sorted({key for record in history for key in record}, key=lambda k: (k != "epoch", k))
    with atomic_path(output / "history.csv") as temporary, open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(history)


def write_json_atomically(path: Path, payload) -> None:
    """Write JSON to a temporary file, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(path, json.dumps(payload, indent=2) + "\n")
