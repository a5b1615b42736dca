"""Decoding speed (and WER where references exist) of every decoder on the same log-probabilities.

The log-probabilities come from one of three places:

``--synthetic``
    Made up here, seeded: ``peaked`` spells random words with one class far
    above the rest in each frame (every decoder should give the reference);
    ``random`` is Gaussian noise through a softmax (a worst case for beams).
``--npz FILE``
    Saved model output: every array except ``references`` and
    ``frame_seconds`` is one utterance of shape (frames, num_classes), taken in
    sorted key order; ``references`` (optional) holds their transcripts in that
    order; ``frame_seconds`` (optional) the output frame duration.
``--model DIR --manifest FILE...``
    A model folder run over the manifests' audio (``--save-npz`` keeps the
    result for later runs); its language model and tuned alpha/beta, if it
    has them, are what the lm decoder uses.

Each decoder decodes every utterance once after one warm-up utterance; the
table gives seconds per utterance and the real-time factor (decoding time
over audio time; below 1 is faster than real time).

    python benchmarks/decoders.py --synthetic peaked --utterances 50 --frames 400
    python benchmarks/decoders.py --npz dev_scores.npz --lm models/lm --beam-widths 1 16 64
    python benchmarks/decoders.py --model models/cnn_bigru --manifest dev/*.jsonl --save-npz dev_scores.npz \
        --decoders greedy beam beam_tf lm --beam-widths 8 32 128
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from asr.alphabet import Alphabet
from asr.decoders import build_decoder
from asr.metrics import error_rates

WORDS = ("the cat sat on a mat while seven quiet dogs watched from under an old green boat "
         "near the harbour wall speech recognition works best with clean audio").split()


def synthetic(kind: str, *, utterances: int, frames: int, seed: int = 0) -> tuple[list[np.ndarray], list[str]]:
    """Seeded utterances of about ``frames`` frames and their references (empty for ``random``)."""
    rng = np.random.default_rng(seed)
    if kind == "random":
        logits = [rng.normal(size=(frames, Alphabet().num_classes)) * 3 for _ in range(utterances)]
        return [_log_softmax(x) for x in logits], []
    texts = [_random_text(rng, frames) for _ in range(utterances)]
    return [_peaked(text, rng) for text in texts], texts


def from_npz(path: Path) -> tuple[list[np.ndarray], list[str], float | None]:
    """Utterances, references and frame duration saved in an .npz (see the module docstring)."""
    with np.load(path, allow_pickle=False) as saved:
        keys = sorted(key for key in saved.files if key not in ("references", "frame_seconds"))
        utterances = [saved[key] for key in keys]
        references = [str(text) for text in saved["references"]] if "references" in saved.files else []
        frame_seconds = float(saved["frame_seconds"]) if "frame_seconds" in saved.files else None
    if references and len(references) != len(utterances):
        raise SystemExit(f"{path}: {len(references)} references for {len(utterances)} utterances")
    return utterances, references, frame_seconds


def from_model(folder_path: Path, manifest_paths: list[Path], *,
               limit: int | None) -> tuple[list, list[str], float, dict]:
    """Run a model folder over manifests' audio: log-probabilities, references, frame duration, lm options."""
    from asr.manifest import read_manifest
    from asr.transcriber import load_model

    transcriber = load_model(folder_path)
    folder = transcriber.folder
    utterances = [u for path in manifest_paths for u in list(read_manifest(path))[:limit]]
    scores = transcriber.log_probs_batch([transcriber.load(u.audio_filepath) for u in utterances])
    settings = folder.decoding
    lm = {}
    if settings.lm_path is not None:
        lm = {"lm_path": settings.lm_path, "unigrams": settings.unigrams, "alpha": settings.alpha,
              "beta": settings.beta}
    return scores, [u.text for u in utterances], folder.frame_seconds, lm


def time_decoder(decoder, utterances: list[np.ndarray], *, frame_seconds: float) -> tuple[list[str], float]:
    """Texts and total seconds to decode every utterance, after one warm-up."""
    if utterances:
        decoder.decode(utterances[0], frame_seconds=frame_seconds)
    started = time.perf_counter()
    texts = [decoder.decode(scores, frame_seconds=frame_seconds).text for scores in utterances]
    return texts, time.perf_counter() - started


def run(utterances: list[np.ndarray], references: list[str], *, frame_seconds: float, kinds: list[str],
        beam_widths: list[int], lm: dict) -> list[dict]:
    """One row of figures per decoder and beam width; ``lm`` holds the lm decoder's options."""
    audio_seconds = sum(len(scores) for scores in utterances) * frame_seconds
    rows = []
    for kind in kinds:
        for width in ([1] if kind == "greedy" else beam_widths):
            options = lm if kind == "lm" else {}
            decoder = build_decoder(kind, beam_width=width, **options)
            texts, seconds = time_decoder(decoder, utterances, frame_seconds=frame_seconds)
            row = {"decoder": kind, "beam_width": width if kind != "greedy" else None,
                   "utterances": len(utterances), "audio_seconds": audio_seconds, "decode_seconds": seconds,
                   "ms_per_utterance": 1000 * seconds / max(len(utterances), 1),
                   "real_time_factor": seconds / audio_seconds if audio_seconds else float("nan")}
            if references:
                rates = error_rates(references, texts)
                row.update(wer=rates.wer, cer=rates.cer)
            rows.append(row)
            print(_format_row(row), file=sys.stderr)
    return rows


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table."""
    scored = any("wer" in row for row in rows)
    header = "| decoder | beam | ms / utterance | real-time factor |" + (" WER | CER |" if scored else "")
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        line = (f"| {row['decoder']} | {row['beam_width'] or '-'} | {row['ms_per_utterance']:.2f} "
                f"| {row['real_time_factor']:.4f} |")
        if scored:
            line += f" {row['wer']:.3f} | {row['cer']:.3f} |"
        lines.append(line)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, gather log-probabilities, time the decoders, print a table."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.model and not args.manifest:
        parser.error("--model needs --manifest (the audio to run it on)")
    lm = {"lm_path": str(args.lm)} if args.lm else {}
    frame_seconds = args.frame_seconds
    if args.synthetic:
        utterances, references = synthetic(args.synthetic, utterances=args.utterances, frames=args.frames,
                                           seed=args.seed)
    elif args.npz:
        utterances, references, saved_seconds = from_npz(args.npz)
        frame_seconds = frame_seconds or saved_seconds
    else:
        utterances, references, frame_seconds, folder_lm = from_model(args.model, args.manifest, limit=args.limit)
        lm = lm or folder_lm
        if args.save_npz:
            _save_npz(args.save_npz, utterances, references, frame_seconds)
    kinds = [kind for kind in args.decoders if kind != "lm" or lm]
    if "lm" in args.decoders and not lm:
        print("no --lm given (nor one in the model folder): skipping the lm decoder", file=sys.stderr)
    rows = run(utterances, references, frame_seconds=frame_seconds or 0.02, kinds=kinds,
               beam_widths=args.beam_widths, lm=lm)
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


def _parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--synthetic", choices=["peaked", "random"], help="made-up log-probabilities")
    source.add_argument("--npz", type=Path, help="saved log-probabilities (and references)")
    source.add_argument("--model", type=Path, help="model folder to run over --manifest")
    parser.add_argument("--manifest", type=Path, nargs="+", help="manifests of audio for --model")
    parser.add_argument("--limit", type=int, help="first N utterances of each --manifest only")
    parser.add_argument("--save-npz", type=Path, help="keep the model's log-probabilities for --npz")
    parser.add_argument("--utterances", type=int, default=20, help="synthetic utterances (default: 20)")
    parser.add_argument("--frames", type=int, default=300, help="frames per synthetic utterance (default: 300)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--frame-seconds", type=float, help="output frame duration (default: saved, else 0.02)")
    parser.add_argument("--decoders", nargs="+", default=["greedy", "beam", "beam_tf", "lm"],
                        choices=["greedy", "beam", "beam_tf", "lm"])
    parser.add_argument("--beam-widths", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--lm", type=Path, help="KenLM model or `asr lm build` folder for the lm decoder")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    return parser


def _random_text(rng: np.random.Generator, frames: int) -> str:
    """Random words that fill about ``frames`` frames at three frames a character."""
    words = []
    while sum(len(word) + 1 for word in words) * 3 < frames:
        words.append(str(rng.choice(WORDS)))
    return " ".join(words[:-1] or words)


def _peaked(text: str, rng: np.random.Generator, *, margin: float = 12.0) -> np.ndarray:
    """Spell ``text``, two frames a character and a blank between, with noisy logits."""
    labels = Alphabet().labels
    classes = []
    for char in text:
        classes += [labels.index(char)] * 2 + [Alphabet().blank_index]
    logits = rng.normal(size=(len(classes), len(labels)))
    logits[np.arange(len(classes)), classes] += margin
    return _log_softmax(logits)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    """Normalise over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _save_npz(path: Path, utterances: list[np.ndarray], references: list[str], frame_seconds: float) -> None:
    """Write log-probabilities in the --npz layout."""
    arrays = {f"utt_{i:06d}": scores for i, scores in enumerate(utterances)}
    np.savez_compressed(path, **arrays, references=np.array(references), frame_seconds=np.array(frame_seconds))


def _format_row(row: dict) -> str:
    """One progress line."""
    width = f" width {row['beam_width']}" if row["beam_width"] else ""
    scored = f", WER {row['wer']:.3f}" if "wer" in row else ""
    return f"{row['decoder']}{width}: {row['ms_per_utterance']:.2f} ms/utterance{scored}"


if __name__ == "__main__":
    sys.exit(main())
