"""Training throughput of every model variant: seconds of audio per second, and time spent waiting for input.

Each variant trains on the cached features of the train split for a fixed
wall-clock budget after two warm-up steps (graph tracing). For every step the
script times, separately, fetching the next batch from the tf.data pipeline
(input wait) and the training step itself, and writes a Markdown table and
JSON next to this file.

    python benchmarks/train_throughput.py --train ../shared/corpus/train/*.jsonl --seconds 90

A variant may carry options, to weigh capacity against speed:

    python benchmarks/train_throughput.py --train ../shared/corpus/train/*.jsonl --seconds 90 \
      --variants cnn_bigru:layers=3 cnn_bigru:layers=3,units=320 --output benchmarks/capacity
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from asr import Alphabet, FeatureConfig
from asr.ctc import CTCTrainer
from asr.data import BatchPlan, SpecAugment, cached_features, fit_normalizer, make_dataset
from asr.manifest import read_manifest
from asr.models import VARIANTS, build_model

HERE = Path(__file__).resolve().parent


def measure(spec: str, tables, labels, normalizer, config: FeatureConfig, *, seconds: float,
            max_frames: int) -> dict:
    """Train one variant (``name`` or ``name:key=value,...``) for ``seconds`` and return its figures."""
    keras.utils.set_random_seed(0)
    name, options = _parse_spec(spec)
    acoustic = build_model(name, input_dim=config.dim, **options)
    trainer = CTCTrainer(acoustic)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-4))
    plan = BatchPlan(lengths=np.stack([t.lengths for t in tables]), max_frames=max_frames, sortagrad=False)
    iterator = iter(make_dataset(tables, labels, plan, normalizer=normalizer, spec_augment=SpecAugment(),
                                 first_epoch=1, repeat=True))
    step = tf.function(trainer.train_step, input_signature=[{  # one trace for every batch shape
        "features": tf.TensorSpec([None, None, config.dim], tf.float32),
        "feature_lengths": tf.TensorSpec([None], tf.int32), "labels": tf.TensorSpec([None, None], tf.int32),
        "label_lengths": tf.TensorSpec([None], tf.int32)}])
    for _ in range(2):
        step(next(iterator))["loss"].numpy()
    waited = stepped = audio = 0.0
    steps = 0
    while waited + stepped < seconds:
        started = time.perf_counter()
        batch = next(iterator)
        fetched = time.perf_counter()
        step(batch)["loss"].numpy()
        finished = time.perf_counter()
        waited += fetched - started
        stepped += finished - fetched
        audio += float(tf.reduce_sum(batch["feature_lengths"])) / config.frame_rate
        steps += 1
    total = waited + stepped
    return {"model": spec, "parameters": acoustic.count_params(), "steps": steps,
            "audio_seconds_per_second": audio / total, "seconds_per_step": total / steps,
            "input_wait_share": waited / total}


def _parse_spec(spec: str) -> tuple[str, dict]:
    """``name:key=value,...`` as the variant name and its options (numbers read as JSON)."""
    name, _, options = spec.partition(":")
    pairs = [option.partition("=") for option in options.split(",") if option]
    return name, {key: json.loads(value) for key, _, value in pairs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", nargs="+", required=True)
    parser.add_argument("--features", default="logmel", choices=["spectrogram", "mfcc", "logmel"])
    parser.add_argument("--variants", nargs="+", default=sorted(VARIANTS),
                        help="variant names, each optionally with options: cnn_bigru:layers=3,units=320")
    parser.add_argument("--seconds", type=float, default=90.0, help="timed training per variant")
    parser.add_argument("--max-frames", type=int, default=12_000)
    parser.add_argument("--cache-dir", default="cache/features")
    parser.add_argument("--output", default=str(HERE / "train_throughput"))
    args = parser.parse_args()

    config = FeatureConfig(kind=args.features)
    utterances = [u for path in args.train for u in read_manifest(path) if u.duration <= 20.0]
    table = cached_features(utterances, config, cache_dir=args.cache_dir)
    normalizer = fit_normalizer(table)
    labels = [Alphabet().encode(u.text) for u in utterances]
    rows = []
    for name in args.variants:
        rows.append(measure(name, [table], labels, normalizer, config, seconds=args.seconds,
                            max_frames=args.max_frames))
        print(json.dumps(rows[-1]), flush=True)
    Path(args.output + ".json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = ["| model | parameters | audio s / s | s / step | input wait |", "|---|---:|---:|---:|---:|"]
    lines += [f"| `{r['model']}` | {r['parameters']:,} | {r['audio_seconds_per_second']:.1f} | "
              f"{r['seconds_per_step']:.2f} | {100 * r['input_wait_share']:.2f}% |" for r in rows]
    Path(args.output + ".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
