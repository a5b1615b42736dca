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
    parser.add_argument("--dev", nargs="+", required=True, help="dev manifests")
    parser.add_argument("--model", default=str(default_model_path()), help="a model folder saved without the mask")
    parser.add_argument("--cache-dir", default="cache/features")
    args = parser.parse_args(argv)
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


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(str(row[c]) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
