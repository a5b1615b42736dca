"""Load: ``asr transcribe`` over many files keeps its memory flat and its throughput steady.

Dev clips are copied (repeated as needed) into a folder of ``--files`` files,
and one ``asr transcribe FOLDER --output-dir OUT`` process runs over it. While
it runs, its resident memory (VmRSS) and the number of transcripts written are
sampled every quarter second; the transcripts' modification times give the
throughput of each block of 100 files. Peak memory is the process's maximum
resident set size (wait4).

    python benchmarks/load.py --manifest ../shared/corpus/dev/*.jsonl --files 100 1000 --decoder greedy lm \
        --json benchmarks/load.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SAMPLE_SECONDS = 0.25  # s between memory samples
BLOCK = 100  # files per throughput block


def prepare(manifests: list[str], folder: Path, count: int) -> dict[str, float]:
    """Copy ``count`` dev clips, repeating them in manifest order, into ``folder``; return name -> seconds."""
    from asr.manifest import read_manifest

    utterances = [u for path in manifests for u in read_manifest(path)]
    folder.mkdir(parents=True, exist_ok=True)
    durations = {}
    for index in range(count):
        utterance = utterances[index % len(utterances)]
        target = folder / f"{index:05d}_{utterance.audio_filepath.name}"
        if not target.is_file():
            shutil.copyfile(utterance.audio_filepath, target)
        durations[target.stem] = utterance.duration
    return durations


def rss_bytes(pid: int) -> int:
    """Resident memory of a process now, in bytes (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def run(folder: Path, output: Path, decoder: str, model: str | None) -> dict:
    """One transcription process over ``folder``: its timeline, peak memory and exit code."""
    shutil.rmtree(output, ignore_errors=True)
    command = [sys.executable, "-m", "asr", "transcribe", str(folder), "--decoder", decoder, "--format", "json",
               "--output-dir", str(output), *(["--model", model] if model else [])]
    started = time.time()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples = []
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)  # reaped here, so ru_maxrss is the peak
        if pid:
            break
        done = len(os.listdir(output)) if output.is_dir() else 0
        samples.append({"seconds": round(time.time() - started, 2), "rss_mb": rss_bytes(process.pid) / 1e6,
                        "files_done": done})
        time.sleep(SAMPLE_SECONDS)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - started
    finished = sorted(path.stat().st_mtime for path in output.glob("*.json"))
    return {"wall_seconds": round(wall, 1), "exit_code": process.returncode, "samples": samples,
            "peak_rss_mb": round(usage.ru_maxrss * 1024 / 1e6, 1),
            "finish_times": [round(t - started, 2) for t in finished], "stderr_tail": process.stderr.read()[-2000:]}


def summarise(result: dict, durations: dict[str, float], files: int, decoder: str) -> dict:
    """Peak and per-checkpoint memory, throughput overall and per block of BLOCK files."""
    samples, finish = result["samples"], result["finish_times"]
    audio = sum(durations.values())
    first = finish[0] if finish else 0.0
    blocks = [finish[i + BLOCK - 1] - (finish[i - 1] if i else first) for i in range(0, len(finish) - BLOCK + 1, BLOCK)]
    def rss_at(done: int) -> float | None:
        reached = [s["rss_mb"] for s in samples if s["files_done"] >= done and s["rss_mb"]]
        return round(reached[0], 1) if reached else None
    return {"files": files, "decoder": decoder, "audio_minutes": round(audio / 60, 1),
            "wall_seconds": result["wall_seconds"], "exit_code": result["exit_code"],
            "written": len(finish), "peak_rss_mb": result["peak_rss_mb"],
            "rss_mb_after": {str(n): rss_at(n) for n in (10, 100, 500, 1000) if n <= files},
            "files_per_second": round(len(finish) / (finish[-1] - first), 2) if len(finish) > 1 else None,
            "start_up_seconds": round(first, 1),
            "seconds_per_block": [round(b, 1) for b in blocks],
            "audio_seconds_per_second": round(audio / result["wall_seconds"], 1)}


def markdown(rows: list[dict]) -> str:
    """The summary rows as a Markdown table."""
    lines = ["| files | decoder | audio (min) | wall (s) | start-up (s) | files/s | RSS after 100 files (MB) | "
             "RSS at the end (MB) | peak RSS (MB) | s per 100 files (each block) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        after = row["rss_mb_after"]
        last = after.get(str(row["files"])) or max(v for v in after.values() if v)
        lines.append(f"| {row['files']} | {row['decoder']} | {row['audio_minutes']} | {row['wall_seconds']} | "
                     f"{row['start_up_seconds']} | {row['files_per_second']} | {after.get('100')} | {last} | "
                     f"{row['peak_rss_mb']} | {', '.join(map(str, row['seconds_per_block']))} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", nargs="+", required=True)
    parser.add_argument("--files", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--decoder", nargs="+", default=["greedy", "lm"], choices=["greedy", "beam", "lm"])
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--workdir", default="runs/load")
    parser.add_argument("--json", help="write the summaries (and memory timelines) here")
    args = parser.parse_args(argv)

    workdir = Path(args.workdir)
    rows, timelines = [], []
    for files in args.files:
        folder = workdir / f"clips-{files}"
        durations = prepare(args.manifest, folder, files)
        for decoder in args.decoder:
            result = run(folder, workdir / f"out-{files}-{decoder}", decoder, args.model)
            row = summarise(result, durations, files, decoder)
            print(json.dumps(row), flush=True)
            if result["exit_code"] != 0:
                print(result["stderr_tail"], file=sys.stderr)
            rows.append(row)
            timelines.append({"files": files, "decoder": decoder, "samples": result["samples"]})
    print(markdown(rows))
    if args.json:
        Path(args.json).write_text(json.dumps({"rows": rows, "timelines": timelines}, indent=1) + "\n")
        Path(args.json).with_suffix(".md").write_text(markdown(rows))
    return 0 if all(row["exit_code"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
