"""What the padding handling costs and changes: the bundled model's weights in its saved form and in today's.

Both models hold the same weights: the bundled model as it was saved (Keras
``Bidirectional`` GRUs that read the padding backwards, ``same`` convolution
padding) and the same weights in today's ``cnn_bigru``, whose backward GRUs
start at each utterance's own end (:func:`asr.models.copy_weights`). For each the script measures greedy WER/CER per dev manifest,
the time to score every dev utterance in padded batches, the time of training
steps on the same batches, and how far an utterance's log-probabilities move
between being scored alone and in a padded batch. Writes a Markdown table and
JSON next to this file.

    python benchmarks/padding_mask.py --dev ../shared/corpus/dev/*.jsonl

``--steps-only`` times training steps alone, on one fixed random batch of 20
x 600 frames (120 s of audio), for three forms of the 3-layer ``cnn_bigru``:
as saved before (Keras ``Bidirectional``, padding read backwards), with
Keras' mask (``Bidirectional`` masked from the padding), and today's
(each utterance reversed in place), each with TensorFlow's default threads
and with inter-op 2 / intra-op 1 (each in its own process, as TensorFlow
reads these once). Writes ``padding_mask_steps.md`` next to this file.

    python benchmarks/padding_mask.py --steps-only
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from asr import Alphabet
from asr.ctc import CTCTrainer
from asr.data import BatchPlan, cached_features, make_dataset
from asr.manifest import read_manifest
from asr.metrics import error_rates
from asr.model_folder import default_model_path, load_model_folder
from asr.models import build_model, copy_weights, output_length
from asr.training import greedy_transcripts

HERE = Path(__file__).resolve().parent
TRAIN_STEPS = 12  # training steps timed per model, after two of warm-up
ALONE_SAMPLE = 24  # utterances scored alone to compare with their padded batch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--dev", nargs="+", default=[], help="dev manifests")
    parser.add_argument("--model", default=str(default_model_path()), help="a model folder saved without the mask")
    parser.add_argument("--cache-dir", default="cache/features")
    parser.add_argument("--steps-only", action="store_true", help="time training steps of the three forms only")
    parser.add_argument("--form", help=argparse.SUPPRESS)  # one measurement, in a child process
    parser.add_argument("--threads", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.form:
        print(json.dumps(_step_speed(args.form, args.threads)))
        return 0
    if args.steps_only:
        return _steps_only()
    folder = load_model_folder(args.model)
    today = build_model(folder.config["model"], input_dim=folder.features.dim, **folder.config["model_options"])
    copy_weights(folder.acoustic, today)
    utterances, names = [], []
    for manifest in args.dev:
        read = read_manifest(manifest)
        utterances.extend(read)
        names.extend([Path(manifest).stem] * len(read))
    table = cached_features(utterances, folder.features, cache_dir=args.cache_dir)
    rows = [measure(label, acoustic, table, utterances, names, folder.normalizer)
            for label, acoustic in (("as saved (padding read backwards)", folder.acoustic),
                                    ("today's (each utterance reversed in place)", today))]
    (HERE / "padding_mask.json").write_text(json.dumps(rows, indent=2) + "\n")
    (HERE / "padding_mask.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


def measure(label: str, acoustic: keras.Model, table, utterances, names, normalizer) -> dict:
    """Greedy WER/CER per manifest, scoring and training-step times, and the alone-vs-batch difference."""
    started = time.perf_counter()
    hypotheses = greedy_transcripts(acoustic, table, normalizer, Alphabet())
    scoring = time.perf_counter() - started
    row = {"model": label, "dev_scoring_seconds": round(scoring, 1)}
    for name in sorted(set(names)):
        chosen = [i for i, n in enumerate(names) if n == name]
        rates = error_rates([utterances[i].text for i in chosen], [hypotheses[i] for i in chosen])
        row[f"wer_{name}"], row[f"cer_{name}"] = round(rates.wer, 4), round(rates.cer, 4)
    row["train_step_seconds"] = round(_train_step_seconds(acoustic, table, utterances, normalizer), 3)
    row["max_alone_vs_batch_difference"] = float(_alone_vs_batch(acoustic, table, normalizer))
    return row


def _train_step_seconds(acoustic, table, utterances, normalizer) -> float:
    """Mean seconds of a CTC training step on the same dev batches (the weights are restored afterwards)."""
    weights = acoustic.get_weights()
    alphabet = Alphabet()
    trainer = CTCTrainer(acoustic)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-6))
    plan = BatchPlan(lengths=table.lengths[None], max_frames=12_000, sortagrad=False, seed=0)
    dataset = make_dataset([table], [alphabet.encode(u.text) for u in utterances], plan, normalizer=normalizer,
                           first_epoch=1)
    step = tf.function(trainer.train_step, input_signature=[{  # one trace for every batch shape
        "features": tf.TensorSpec([None, None, table.values.shape[1]], tf.float32),
        "feature_lengths": tf.TensorSpec([None], tf.int32), "labels": tf.TensorSpec([None, None], tf.int32),
        "label_lengths": tf.TensorSpec([None], tf.int32)}])
    batches = list(dataset.take(TRAIN_STEPS + 2))
    for batch in batches[:2]:
        step(batch)["loss"].numpy()
    started = time.perf_counter()
    for batch in batches[2:]:
        step(batch)["loss"].numpy()
    seconds = (time.perf_counter() - started) / TRAIN_STEPS
    acoustic.set_weights(weights)
    return seconds


def _alone_vs_batch(acoustic, table, normalizer) -> float:
    """Largest |log-probability| difference of an utterance scored alone and in one padded batch."""
    chosen = np.random.default_rng(0).choice(np.flatnonzero(table.lengths > 0), ALONE_SAMPLE, replace=False)
    features = [normalizer(table.utterance(int(i))) for i in chosen]
    longest = max(f.shape[0] for f in features)
    batch = np.stack([np.pad(f, ((0, longest - f.shape[0]), (0, 0))) for f in features])
    forward = tf.function(tf.autograph.experimental.do_not_convert(lambda x: acoustic(x, training=False)),
                          input_signature=[tf.TensorSpec([None, None, batch.shape[2]], tf.float32)])
    together = forward(tf.constant(batch)).numpy()
    difference = 0.0
    for row, f in enumerate(features):
        alone = forward(tf.constant(f[None])).numpy()[0]
        frames = int(output_length(acoustic, f.shape[0]))
        difference = max(difference, float(np.abs(alone[:frames] - together[row, :frames]).max()))
    return difference


FORMS = ("as saved (padding read backwards)", "Keras mask", "today's (reversed in place)")
THREADS = ((0, 0), (2, 1))  # (inter-op, intra-op) threads; 0: TensorFlow's default


def _steps_only() -> int:
    """Each form under each thread setting in its own process; the table of audio seconds per second."""
    import subprocess
    import sys

    rows = []
    for form in FORMS:
        row = {"model": form}
        for inter, intra in THREADS:
            output = subprocess.run([sys.executable, __file__, "--form", form, "--threads", str(inter), str(intra)],
                                    capture_output=True, text=True, check=True).stdout
            speed = json.loads(output.strip().splitlines()[-1])
            row[f"audio s/s, threads {inter or 'default'}/{intra or 'default'}"] = round(speed, 1)
        rows.append(row)
    (HERE / "padding_mask_steps.md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


def _step_speed(form: str, threads: list[int]) -> float:
    """Seconds of audio per second of training steps of one form on one fixed batch."""
    inter, intra = threads
    if inter:
        tf.config.threading.set_inter_op_parallelism_threads(inter)
    if intra:
        tf.config.threading.set_intra_op_parallelism_threads(intra)
    acoustic = build_model("cnn_bigru", input_dim=80, layers=3) if form == FORMS[2] else \
        _bidirectional_cnn_bigru(masked=form == FORMS[1])
    trainer = CTCTrainer(acoustic)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-6))
    rng = np.random.default_rng(0)
    batch, frames = 20, 600
    data = {"features": tf.constant(rng.standard_normal((batch, frames, 80)).astype(np.float32)),
            "feature_lengths": tf.constant(rng.integers(400, frames, batch).astype(np.int32)),
            "labels": tf.constant(rng.integers(1, 29, (batch, 60)).astype(np.int32)),
            "label_lengths": tf.constant(np.full(batch, 60, np.int32))}
    step = tf.function(trainer.train_step)
    step(data)["loss"].numpy()
    started = time.perf_counter()
    for _ in range(4):
        step(data)["loss"].numpy()
    return batch * frames / 100 / ((time.perf_counter() - started) / 4)


class _KerasMask(keras.layers.Layer):
    """The Keras mask of the frames of a stride-2 sequence that belong to each utterance (benchmark only)."""

    def call(self, inputs):
        return inputs[0]

    def compute_mask(self, inputs, previous_mask=None):
        x, features = inputs
        present = keras.ops.any(keras.ops.not_equal(features, 0), axis=-1)
        positions = keras.ops.cumsum(keras.ops.ones_like(present, dtype="int32"), axis=1)
        lengths = (keras.ops.max(keras.ops.where(present, positions, 0), axis=1) + 1) // 2
        steps = keras.ops.cumsum(keras.ops.ones_like(x[..., 0], dtype="int32"), axis=1)
        return steps <= lengths[:, None]


def _bidirectional_cnn_bigru(*, masked: bool) -> keras.Model:
    """The 3-layer cnn_bigru as saved before today's layers, with Keras' Bidirectional, masked or not."""
    layers = keras.layers
    inputs = keras.Input((None, 80))
    x = layers.Conv1D(256, 11, strides=2, padding="same", use_bias=False)(inputs)
    if masked:
        x = _KerasMask()([x, inputs])
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for _ in range(3):
        x = layers.Bidirectional(layers.GRU(256, return_sequences=True))(x)
        x = layers.Dropout(0.1)(layers.BatchNormalization()(x))
    return keras.Model(inputs, layers.Activation("log_softmax")(layers.Dense(29)(x)))


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
