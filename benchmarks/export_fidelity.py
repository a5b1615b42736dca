"""Does the exported graph transcribe like Keras? WER, CER and log-probability differences on dev manifests.

For each manifest, every utterance's log-probabilities come from the Keras
model and from each exported ONNX graph given (the folder's own
``acoustic.onnx``, and e.g. an int8 export); the table gives each runtime's
greedy (and, with ``--lm``, beam + LM) WER and CER, the largest absolute
log-probability difference from Keras, the graph's size and the seconds its
acoustic model took for the whole manifest.

    python benchmarks/export_fidelity.py --manifest ../shared/corpus/dev/*.jsonl --model asr/default_model \\
        --onnx int8=runs/int8/acoustic.onnx --lm
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", nargs="+", required=True)
    parser.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    parser.add_argument("--onnx", nargs="*", default=[], metavar="NAME=PATH", help="more exported graphs to compare")
    parser.add_argument("--lm", action="store_true", help="also decode with the folder's language model")
    parser.add_argument("--output", default=str(HERE / "export_fidelity"), help="writes OUTPUT.md and OUTPUT.json")
    args = parser.parse_args(argv)

    from asr.audio import load_audio
    from asr.manifest import read_manifest
    from asr.metrics import error_rates
    from asr.networks import OnnxNetwork
    from asr.transcriber import load_model

    keras = load_model(args.model, runtime="keras")
    runtimes = {"keras": keras, "onnx": load_model(args.model, runtime="onnx")}
    for item in args.onnx:
        name, _, path = item.partition("=")
        base = runtimes["onnx"].folder.network
        runtimes[name] = type(keras)(replace(keras.folder, network=OnnxNetwork(
            path=Path(path), input_dim=base.input_dim, num_classes=base.num_classes, time_steps=base.time_steps)))
    rows = []
    for manifest in args.manifest:
        utterances = list(read_manifest(manifest))
        audio = [load_audio(u.audio_filepath) for u in utterances]
        references = [u.text for u in utterances]
        scores = {}
        for name, transcriber in runtimes.items():
            started = time.perf_counter()
            scores[name] = transcriber.log_probs_batch(audio)
            seconds = time.perf_counter() - started
            row = {"manifest": Path(manifest).stem, "runtime": name, "utterances": len(utterances),
                   "acoustic_seconds": round(seconds, 1),
                   "max_abs_difference": max(float(np.abs(a - b).max()) for a, b in zip(scores[name], scores["keras"])),
                   "onnx_mb": _graph_mb(transcriber.folder.network)}
            kinds = ["greedy", "lm"] if args.lm else ["greedy"]
            for kind in kinds:
                decoder = transcriber.decoder(kind)
                hypotheses = [decoder.decode(s, frame_seconds=transcriber.folder.frame_seconds).text
                              for s in scores[name]]
                rates = error_rates(references, hypotheses)
                row[f"{kind}_wer"], row[f"{kind}_cer"] = round(rates.wer, 4), round(rates.cer, 4)
            rows.append(row)
            print(json.dumps(row), flush=True)
    Path(args.output + ".json").write_text(json.dumps(rows, indent=2) + "\n")
    Path(args.output + ".md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


def _graph_mb(network) -> float | None:
    """Size of an exported graph in MB; None for Keras."""
    path = getattr(network, "path", None)
    return None if path is None else round(path.stat().st_size / 2**20, 1)


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    kinds = [kind for kind in ("greedy", "lm") if any(f"{kind}_wer" in row for row in rows)]
    header = ["manifest", "runtime", *[f"{k} WER / CER" for k in kinds], "max abs log-prob difference",
              "acoustic s", "graph MB"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * 2 + "---:|" * (len(header) - 2)]
    for row in rows:
        cells = [row["manifest"], row["runtime"],
                 *[f"{row[f'{k}_wer']:.4f} / {row[f'{k}_cer']:.4f}" if f"{k}_wer" in row else "-" for k in kinds],
                 f"{row['max_abs_difference']:.2e}", f"{row['acoustic_seconds']:.1f}",
                 "-" if row["onnx_mb"] is None else f"{row['onnx_mb']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
