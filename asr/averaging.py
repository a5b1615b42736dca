"""Checkpoint averaging: one model whose weights are the mean of several epochs of a run.

With SpecAugment and speed perturbation drawing new copies of the data each
epoch, the weights at the end of neighbouring epochs scatter around a common
point, and their dev scores go up and down by a few hundredths. The mean of
the last few epochs' weights sits nearer that point; ESPnet and fairseq
average the last (or best) 5-10 checkpoints of every model they release for
the same reason. Averaging costs no training, only a pass over the dev data
to score the result.

The averaged model is written as a model folder like the run's own
(``model.keras``, ``config.json``, ``normalizer.json``, ``alphabet.json``, and
``best.json`` with the epochs averaged and their dev figures), so it can be
evaluated, tuned and bundled like any other.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np

from asr.alphabet import Alphabet
from asr.ctc import CTCTrainer
from asr.features import Normalizer
from asr.models import build_model
from asr.training import (CONFIG_FILE, TrainConfig, checkpoint_path, dev_scores, export_model, make_optimizer,
                          prepare_dev_data, saved_epochs)

COPIED_FILES = (CONFIG_FILE, "normalizer.json", "alphabet.json")  # the run's files an averaged folder shares


def average_checkpoints(run: str | PathLike, *, epochs: Sequence[int], output: str | PathLike,
                        checkpoints: str | PathLike | None = None, score_dev: bool = True) -> dict:
    """Average the acoustic-model weights of several epochs of a run into a new model folder.

    Parameters
    ----------
    run : path
        A training run's folder (its ``config.json``, ``normalizer.json`` and ``alphabet.json`` are used).
    epochs : sequence of int
        The epochs to average, at least one; each needs ``epoch-NNNN.weights.h5`` in ``checkpoints``.
    output : path
        The model folder to write; must differ from ``run``.
    checkpoints : path, optional
        Where the epoch checkpoints are; default ``run/checkpoints``.
    score_dev : bool
        Score the averaged model on the run's dev manifests (greedy WER/CER, pooled and per manifest).

    Returns
    -------
    dict
        What ``best.json`` in ``output`` holds: ``averaged_epochs`` and, when scored, the dev figures
        with the same keys as the run's history.

    Raises
    ------
    FileNotFoundError
        If the run has no config or an epoch has no checkpoint (the message lists those there are).
    ValueError
        If ``epochs`` is empty or ``output`` is the run itself.
    """
    run, output = Path(run), Path(output)
    folder = Path(checkpoints) if checkpoints is not None else run / "checkpoints"
    epochs = sorted(set(int(epoch) for epoch in epochs))
    _check_request(run, output, folder, epochs)
    config = TrainConfig.load(run / CONFIG_FILE)
    alphabet = Alphabet.load(run / "alphabet.json")
    acoustic = build_model(config.model, input_dim=config.features.dim, num_classes=alphabet.num_classes,
                           **config.model_options)
    _assign_mean_weights(acoustic, config, alphabet, [checkpoint_path(folder, epoch) for epoch in epochs])
    output.mkdir(parents=True, exist_ok=True)
    for name in COPIED_FILES:
        shutil.copyfile(run / name, output / name)
    record: dict = {"averaged_epochs": epochs}
    if score_dev and config.dev_manifests:
        split = prepare_dev_data(config, alphabet)
        record.update(dev_scores(acoustic, split, Normalizer.load(run / "normalizer.json"), alphabet))
    export_model(acoustic, output, record)
    return record


def _check_request(run: Path, output: Path, folder: Path, epochs: list[int]) -> None:
    """Errors for a run without config, no epochs, an output over the run, or missing checkpoints."""
    if not (run / CONFIG_FILE).is_file():
        raise FileNotFoundError(f"{run}: not a training run (no {CONFIG_FILE})")
    if output.resolve() == run.resolve():
        raise ValueError(f"{output}: write the averaged model to a folder of its own, not over the run")
    if not epochs:
        raise ValueError(f"give at least one epoch to average (checkpoints in {folder}: "
                         f"{saved_epochs(folder) or 'none'})")
    missing = [epoch for epoch in epochs if not checkpoint_path(folder, epoch).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder}: no checkpoint for epoch(s) {missing}; "
                                f"there are {saved_epochs(folder) or 'none'}")


def _assign_mean_weights(acoustic, config: TrainConfig, alphabet: Alphabet, paths: Sequence[Path]) -> None:
    """Load each checkpoint (model and optimiser, as training wrote it) and set the mean of the model's weights.

    Floating-point weights (kernels, biases, normalisation statistics) are averaged in float64; any
    integer state is taken from the last checkpoint.
    """
    trainer = CTCTrainer(acoustic, blank_index=alphabet.blank_index)
    trainer.compile(optimizer=make_optimizer(config, steps_per_epoch=1))
    trainer.optimizer.build(acoustic.trainable_variables)
    sums = None
    for path in paths:
        trainer.load_weights(path)
        values = [np.asarray(variable.numpy()) for variable in acoustic.weights]
        if sums is None:
            sums = [value.astype(np.float64) if _is_float(value) else value for value in values]
        else:
            sums = [total + value if _is_float(value) else value for total, value in zip(sums, values)]
    for variable, total in zip(acoustic.weights, sums):
        mean = total / len(paths) if _is_float(total) else total
        variable.assign(mean.astype(variable.dtype))


def _is_float(value: np.ndarray) -> bool:
    return np.issubdtype(value.dtype, np.floating)
