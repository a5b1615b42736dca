"""Load on ``asr serve`` over loopback: requests per second, latency and server memory, then a full queue.

Starts ``asr serve`` as its own process (the bundled model unless --model),
then, for each number of concurrent clients, sends ``--requests`` dev clips
(16-bit WAV, taken in turn from the manifests) as OpenAI transcription
requests and records each one's latency. The server's resident memory is read
from /proc before and after each level. A last level sends more clients at
once than ``--max-queue`` admits and counts the 503 answers.

    python benchmarks/serve.py --manifest ../shared/corpus/dev/*.jsonl
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import soundfile

HERE = Path(__file__).resolve().parent


def clips(manifests: list[str], count: int) -> list[bytes]:
    """``count`` dev clips as WAV bytes, taken in turn from each manifest."""
    from asr.audio import load_audio
    from asr.manifest import read_manifest

    lists = [list(read_manifest(path)) for path in manifests]
    chosen = [u for group in zip(*lists) for u in group][:count]
    result = []
    for utterance in chosen:
        buffer = io.BytesIO()
        soundfile.write(buffer, load_audio(utterance.audio_filepath), 16_000, format="WAV", subtype="PCM_16")
        result.append(buffer.getvalue())
    return result


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def load(url: str, audio: list[bytes], *, clients: int, requests: int) -> dict:
    """``requests`` transcriptions from ``clients`` concurrent clients: latencies and statuses."""
    latencies, statuses = [], []
    pending = iter(range(requests))

    async def client(session: httpx.AsyncClient):
        for number in pending:
            started = time.perf_counter()
            response = await session.post("/v1/audio/transcriptions", data={"model": "asr"},
                                          files={"file": ("clip.wav", audio[number % len(audio)], "audio/wav")})
            latencies.append(time.perf_counter() - started)
            statuses.append(response.status_code)

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=600) as session:
        await asyncio.gather(*(client(session) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    ok = [latency for latency, status in zip(latencies, statuses) if status == 200]
    return {"clients": clients, "requests": requests, "ok": len(ok), "refused_503": statuses.count(503),
            "other": len(statuses) - len(ok) - statuses.count(503), "seconds": round(elapsed, 1),
            "requests_per_second": round(len(ok) / elapsed, 2),
            "median_latency_s": round(statistics.median(ok), 2) if ok else None,
            "p95_latency_s": round(sorted(ok)[max(0, int(0.95 * len(ok)) - 1)], 2) if ok else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--manifest", nargs="+", required=True)
    parser.add_argument("--model", help="model folder (default: the bundled model)")
    parser.add_argument("--clients", nargs="+", type=int, default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=48, help="requests per level (default: 48)")
    parser.add_argument("--max-queue", type=int, default=16, help="the server's --max-queue (default: 16)")
    parser.add_argument("--output", default=str(HERE / "serve"), help="writes OUTPUT.md and OUTPUT.json")
    args = parser.parse_args(argv)

    audio = clips(args.manifest, args.requests)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "asr", "serve", "--port", str(port), "--max-queue", str(args.max_queue)]
    server = subprocess.Popen(command + (["--model", args.model] if args.model else []),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(url + "/health", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                if server.poll() is not None:
                    raise SystemExit("asr serve exited before answering")
                time.sleep(0.2)
        rows = []
        levels = [(clients, args.requests) for clients in args.clients] + [(4 * args.max_queue, 4 * args.max_queue)]
        for clients, requests in levels:
            before = rss_mb(server.pid)
            row = asyncio.run(load(url, audio, clients=clients, requests=requests))
            row.update(rss_before_mb=round(before), rss_after_mb=round(rss_mb(server.pid)))
            rows.append(row)
            print(json.dumps(row), flush=True)
        healthy = httpx.get(url + "/health").json()["status"] == "ok"
    finally:
        server.terminate()
        server.wait(timeout=30)
    Path(args.output + ".json").write_text(json.dumps({"max_queue": args.max_queue, "rows": rows,
                                                       "healthy_after": healthy}, indent=2) + "\n")
    Path(args.output + ".md").write_text(markdown(rows, args.max_queue, healthy))
    print(markdown(rows, args.max_queue, healthy))
    return 0


def markdown(rows: list[dict], max_queue: int, healthy: bool) -> str:
    lines = ["| concurrent clients | requests | answered 200 | refused 503 | other | requests/s | median latency s | "
             "95th percentile s | server RSS MB before -> after |", "|" + "---:|" * 9]
    for row in rows:
        lines.append(f"| {row['clients']} | {row['requests']} | {row['ok']} | {row['refused_503']} | {row['other']} | "
                     f"{row['requests_per_second']} | {row['median_latency_s']} | {row['p95_latency_s']} | "
                     f"{row['rss_before_mb']} -> {row['rss_after_mb']} |")
    lines.append(f"\nServer --max-queue {max_queue}; /health answered ok after the run: {healthy}.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
