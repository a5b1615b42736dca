"""Streaming recognition: WER against the offline model, word latency, and a long stream's speed and memory.

Three measurements, one model folder trained with ``--model streaming_gru``:

* **WER / CER** on each dev manifest: every clip streamed in chunks of
  ``--chunk-ms`` through :class:`asr.streaming.StreamingRecognizer` (greedy
  and lm), next to the offline model's ``asr evaluate`` figures
  (``--offline-model``, greedy and lm), on the same normaliser.
* **Latency** of each final word, from the end of the word in the audio
  (its end time in the final segment) to the moment it is shown as a partial
  (its position in the open segment's partial words, read by the same
  decoder, first holds it) and as final, for each decoder. Audio is taken to arrive in real time, a chunk at a time: chunk k is
  there at ``(k + 1) * chunk`` seconds, is processed as soon as it is there
  and the one before it is done, and what it shows is shown when its
  processing ends, so latency = the chunk's arrival + any backlog + its
  processing - the word's end. Median and 90th percentile over all words.
* **A long stream**: dev clips joined with half a second of silence into
  ``--long-minutes`` of audio, fed a chunk at a time; the real-time factor
  (processing seconds / audio seconds) and the process's resident memory
  every 5 minutes of audio (it must stay flat) and at its peak, for each decoder.

    python benchmarks/streaming.py --model models/streaming --offline-model asr/default_model \\
        --manifest ../shared/corpus/dev/*.jsonl --output benchmarks/streaming
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from asr.evaluation import evaluate_manifest, manifest_name
from asr.manifest import read_manifest
from asr.metrics import error_rates
from asr.transcriber import load_model

GAP_SECONDS = 0.5  # s of silence between clips of the long stream
MEMORY_EVERY_SECONDS = 300.0  # s of audio between two readings of resident memory


def stream_clip(recognizer, samples: np.ndarray, *, chunk: int) -> tuple[str, list[dict]]:
    """Stream one clip; return its final text and each final word's audio end, partial and final times (s)."""
    clock, words, first_seen = 0.0, [], {}
    segment_index = 0
    for start in range(0, max(samples.size, 1), chunk):
        arrival = (start + chunk) / recognizer.sample_rate
        begun = time.perf_counter()
        update = recognizer.accept(samples[start:start + chunk])
        clock = max(clock, arrival) + time.perf_counter() - begun
        segment_index = _note(update, clock, words, first_seen, segment_index)
    begun = time.perf_counter()
    update = recognizer.finish()
    clock = max(clock, samples.size / recognizer.sample_rate) + time.perf_counter() - begun
    _note(update, clock, words, first_seen, segment_index)
    return " ".join(w["word"] for w in words), words


def _note(update, clock: float, words: list[dict], first_seen: dict, segment_index: int) -> int:
    """Record when partial words first appear and when segments become final; return the open segment's number."""
    for segment in update.finals:
        for position, word in enumerate(segment.words):
            partial = first_seen.get((segment_index, position), (None, clock))
            shown = partial[1] if partial[0] == word.word else clock
            words.append({"word": word.word, "end": word.end, "partial": shown, "final": clock})
        segment_index += 1
    for position, word in enumerate(update.partial.split()):
        seen = first_seen.get((segment_index, position))
        if seen is None or seen[0] != word:
            first_seen[(segment_index, position)] = (word, clock)
    return segment_index


def accuracy(model, offline, manifests: list[Path], *, decoders: list[str], chunk_ms: float) -> tuple[list, dict]:
    """WER and CER of the streaming model's finals and of the offline model, per manifest and decoder.

    Also returns the latencies of every final word (s) by decoder: {decoder: {"partial": [...], "final": [...]}}.
    """
    rows, latencies = [], {decoder: {"partial": [], "final": []} for decoder in decoders}
    for manifest in manifests:
        utterances = list(read_manifest(manifest))
        for decoder in decoders:
            hypotheses, started = [], time.perf_counter()
            for utterance in utterances:
                samples = model.load(utterance.audio_filepath)
                text, words = stream_clip(model.stream(decoder=decoder), samples,
                                          chunk=round(chunk_ms / 1000 * model.sample_rate))
                hypotheses.append(text)
                for kind in ("partial", "final"):
                    latencies[decoder][kind] += [w[kind] - w["end"] for w in words]
            rates = error_rates([u.text for u in utterances], hypotheses)
            rows.append({"manifest": manifest_name(manifest), "system": "streaming", "decoder": decoder,
                         "wer": rates.wer, "cer": rates.cer, "seconds": time.perf_counter() - started})
            if offline is not None:
                evaluation, _ = evaluate_manifest(offline, manifest, decoder=decoder)
                rows.append({"manifest": manifest_name(manifest), "system": "offline", "decoder": decoder,
                             "wer": evaluation.wer, "cer": evaluation.cer, "seconds": evaluation.processing_seconds})
            print(json.dumps(rows[-1]), file=sys.stderr)
    return rows, latencies


def long_stream(model, manifests: list[Path], *, minutes: float, chunk_ms: float, decoder: str) -> dict:
    """Real-time factor and resident memory over one stream of ``minutes`` of joined dev clips."""
    clips = [u.audio_filepath for manifest in manifests for u in read_manifest(manifest)]
    if not clips:
        raise SystemExit(f"error: no usable utterances in {', '.join(map(str, manifests))} to build a long stream from")
    recognizer = model.stream(decoder=decoder)
    chunk = round(chunk_ms / 1000 * model.sample_rate)
    gap = np.zeros(round(GAP_SECONDS * model.sample_rate), np.float32)
    fed, processing, memory, words, next_reading = 0, 0.0, [], 0, 0.0
    target = minutes * 60 * model.sample_rate
    while fed < target:
        for clip in clips:
            samples = np.concatenate([model.load(clip), gap])
            for start in range(0, samples.size, chunk):
                begun = time.perf_counter()
                update = recognizer.accept(samples[start:start + chunk])
                processing += time.perf_counter() - begun
                words += sum(len(segment.words) for segment in update.finals)
            fed += samples.size
            if fed / model.sample_rate >= next_reading:
                memory.append({"audio_minutes": round(fed / model.sample_rate / 60, 1), "rss_mb": _rss_mb()})
                next_reading += MEMORY_EVERY_SECONDS
            if fed >= target:
                break
    recognizer.finish()
    audio_seconds = fed / model.sample_rate
    return {"audio_minutes": round(audio_seconds / 60, 1), "rtf": processing / audio_seconds, "final_words": words,
            "memory": memory, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _rss_mb() -> float:
    """The process's resident memory now, in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _percentiles(values: list[float]) -> dict:
    return {"words": len(values), "median_s": float(np.median(values)) if values else None,
            "p90_s": float(np.percentile(values, 90)) if values else None}


def markdown(results: dict) -> str:
    """The tables of results.md."""
    lines = ["| manifest | decoder | streaming WER / CER | offline WER / CER |", "|---|---|---:|---:|"]
    cells = {(r["manifest"], r["system"], r["decoder"]): r for r in results["accuracy"]}
    for manifest, _, decoder in sorted({(r["manifest"], "", r["decoder"]) for r in results["accuracy"]}):
        stream, offline = cells.get((manifest, "streaming", decoder)), cells.get((manifest, "offline", decoder))
        lines.append(f"| {manifest} | {decoder} | {stream['wer']:.3f} / {stream['cer']:.3f} | "
                     + (f"{offline['wer']:.3f} / {offline['cer']:.3f} |" if offline else "- |"))
    latency = results["latency"]
    lines += ["", "| decoder | word shown as | words | median latency (s) | 90th percentile (s) |",
              "|---|---|---:|---:|---:|"]
    for decoder, kinds in latency.items():
        for kind in ("partial", "final"):
            row = kinds[kind]
            lines.append(f"| {decoder} | {kind} | {row['words']} | {row['median_s']:.2f} | {row['p90_s']:.2f} |")
    for decoder, long in results["long"].items():
        lines += ["", f"Long stream, {decoder}: {long['audio_minutes']} min, real-time factor {long['rtf']:.3f}, "
                      f"{long['final_words']} final words, peak resident memory {long['peak_rss_mb']:.0f} MiB; "
                      "resident memory by minutes of audio: "
                      + ", ".join(f"{m['audio_minutes']} min {m['rss_mb']:.0f} MiB" for m in long["memory"]) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a streaming model folder")
    parser.add_argument("--offline-model", help="an offline model folder to compare with (e.g. asr/default_model)")
    parser.add_argument("--manifest", nargs="+", required=True, type=Path)
    parser.add_argument("--decoders", nargs="+", default=["greedy", "lm"])
    parser.add_argument("--chunk-ms", type=float, default=100.0)
    parser.add_argument("--long-minutes", type=float, default=60.0)
    parser.add_argument("--output", type=Path, default=Path("benchmarks/streaming"))
    args = parser.parse_args(argv)

    model = load_model(args.model)
    offline = load_model(args.offline_model) if args.offline_model else None
    rows, latencies = accuracy(model, offline, args.manifest, decoders=args.decoders, chunk_ms=args.chunk_ms)
    results = {"command": " ".join(sys.argv), "chunk_ms": args.chunk_ms, "accuracy": rows,
               "latency": {decoder: {kind: _percentiles(values) for kind, values in kinds.items()}
                           for decoder, kinds in latencies.items()},
               "long": {decoder: long_stream(model, args.manifest, minutes=args.long_minutes, chunk_ms=args.chunk_ms,
                                             decoder=decoder) for decoder in args.decoders}}
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    args.output.with_suffix(".md").write_text(markdown(results), encoding="utf-8")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
