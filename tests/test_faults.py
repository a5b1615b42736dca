"""Faults: processes killed at random moments or while writing, and a disk that fills up; nothing is lost.

Training is killed with SIGKILL during epochs and in the middle of writing a checkpoint, then resumed;
``asr benchmark`` is killed between cells; outputs go to a small tmpfs that runs out of space. After each,
what was written before is whole and the next run goes on from it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from asr.training import _checkpoints
from test_training import _tone_manifest

pytestmark = pytest.mark.slow

TRAIN_OPTIONS = ["--features", "logmel", "--option", "units=32", "--option", "layers=1", "--no-spec-augment",
                 "--progress", "epoch", "--max-frames", "800"]


def _train_command(manifest: Path, output: Path, epochs: int, *extra) -> list[str]:
    """``asr train`` of a tiny model on a tone manifest; features cached beside the manifest's folder."""
    return [sys.executable, "-m", "asr", "train", "--train", str(manifest), "--output", str(output),
            "--cache-dir", str(manifest.parent.parent / "cache"), "--epochs", str(epochs), *TRAIN_OPTIONS, *extra]


def _history(output: Path) -> list[int]:
    return [record["epoch"] for record in json.loads((output / "history.json").read_text())]


def _newest_checkpoint(output: Path) -> int:
    found = _checkpoints(output)
    return found[-1][0] if found else 0


def _resume(manifest: Path, output: Path, epochs: int) -> subprocess.CompletedProcess:
    finished = subprocess.run(_train_command(manifest, output, epochs, "--resume"), capture_output=True, text=True,
                              timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished


def test_training_killed_at_random_moments_resumes_from_its_newest_whole_checkpoint(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=12)
    output = tmp_path / "run"
    rng = np.random.default_rng(7)
    epochs = 0
    for kill in range(3):
        epochs += 40
        started = _newest_checkpoint(output)
        process = subprocess.Popen(_train_command(manifest, output, epochs, *(["--resume"] if kill else [])),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while _newest_checkpoint(output) < started + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 3.0))  # anywhere in an epoch, or while it writes its checkpoint
        process.send_signal(signal.SIGKILL)
        process.wait()
        newest, recorded = _newest_checkpoint(output), _history(output)[-1]
        assert newest >= recorded - 1  # history is written just before the checkpoint: at most one epoch lost
        resumed = _resume(manifest, output, newest + 1)
        assert f"resuming from {output / 'checkpoints'}/epoch-{newest:04d}.weights.h5" in resumed.stderr
        assert _history(output) == list(range(1, newest + 2))
        epochs = newest + 1


KILL_WHILE_SAVING = """
import os, signal, sys
import keras
from asr.cli import main

save = keras.Model.save_weights

def save_half_then_die(self, path, *args, **kwargs):
    save(self, path, *args, **kwargs)
    if "epoch-0002" in str(path):  # the second checkpoint: half of it on disk when the process dies
        data = open(path, "rb").read()
        open(path, "wb").write(data[: len(data) // 2])
        os.kill(os.getpid(), signal.SIGKILL)

keras.Model.save_weights = save_half_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_a_checkpoint_half_written_when_killed_is_never_loaded(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=4)
    output = tmp_path / "run"
    killed = subprocess.run([sys.executable, "-c", KILL_WHILE_SAVING, *_train_command(manifest, output, 5)[3:]],
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    half = list((output / "checkpoints").glob(".epoch-0002.weights.h5.tmp-*"))
    assert half and _newest_checkpoint(output) == 1

    resumed = _resume(manifest, output, 3)
    assert f"epoch-0001.weights.h5 (epoch 1)" in resumed.stderr and "left by a run stopped" in resumed.stderr
    assert not any(path.exists() for path in half)
    assert _history(output) == [1, 2, 3]


KILL_AFTER_TWO_CELLS = """
import os, signal, sys
import asr.benchmark
from asr.cli import main

write = asr.benchmark.write_text_atomically
written = []

def write_then_die(path, text):
    write(path, text)
    written.append(path)
    if len(written) == 2:
        os.kill(os.getpid(), signal.SIGKILL)

asr.benchmark.write_text_atomically = write_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_a_benchmark_killed_mid_run_measures_only_the_missing_cells_on_rerun(trained, tmp_path):
    model, manifest = trained
    output = tmp_path / "bench"
    arguments = ["benchmark", "--model", str(model), "--decoder", "greedy", "beam", "--manifest", str(manifest),
                 str(_tone_manifest(tmp_path / "more")), "--output", str(output), "--no-charts"]
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_TWO_CELLS, *arguments], capture_output=True,
                            text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL
    cells = {path: (path.stat().st_mtime_ns, path.read_text()) for path in (output / "cells").glob("*.json")}
    assert len(cells) == 2

    rerun = subprocess.run([sys.executable, "-m", "asr", *arguments], capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert "2 cell(s) already measured; skipped" in rerun.stderr
    assert all((path.stat().st_mtime_ns, path.read_text()) == before for path, before in cells.items())
    assert len(json.loads((output / "results.json").read_text())["rows"]) == 4


@pytest.fixture
def small_disk(tmp_path):
    """A function mounting a tmpfs of a given size in bytes at a new folder; unmounted afterwards."""
    mounted = []

    def mount(size: int) -> Path:
        folder = tmp_path / f"disk{len(mounted)}"
        folder.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small tmpfs to fill up here (needs root): {result.stderr.strip()}")
        mounted.append(folder)
        return folder

    if os.geteuid() != 0:
        pytest.skip("filling a disk needs a small tmpfs, and mounting one needs root")
    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def _fill(folder: Path, *, leave: int) -> None:
    """Write a filler file so that only about ``leave`` bytes stay free in ``folder``."""
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    (folder / "filler").write_bytes(b"\0" * max(0, free - leave))


def test_transcripts_on_a_full_disk_stop_with_a_clear_error_and_keep_what_was_written(trained, small_disk,
                                                                                     tmp_path):
    model, manifest = trained
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for copy in range(12):  # twelve transcripts of about 2 KB each, with room for about four
        (inputs / f"clip{copy:02d}.wav").write_bytes((manifest.parent / "low.wav").read_bytes())
    disk = small_disk(256 * 1024)
    _fill(disk, leave=4 * 4096)
    result = subprocess.run([sys.executable, "-m", "asr", "transcribe", str(inputs), "--model", str(model),
                             "--decoder", "greedy", "--format", "json", "--output-dir", str(disk / "out")],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 1
    assert "cannot write its transcript" in result.stderr and "No space left on device" in result.stderr
    assert "more have no transcript" in result.stderr and "Traceback" not in result.stderr
    written = sorted((disk / "out").glob("*.json"))
    assert 0 < len(written) < 12
    assert all(json.loads(path.read_text())["duration"] == pytest.approx(1.0) for path in written)
    assert not list((disk / "out").glob(".*"))


def test_training_on_a_full_disk_stops_with_a_clear_error_and_resumes_once_there_is_room(tmp_path, small_disk):
    manifest = _tone_manifest(tmp_path / "data", copies=4)
    first = subprocess.run(_train_command(manifest, tmp_path / "sized", 1), capture_output=True, text=True,
                           timeout=600)
    assert first.returncode == 0, first.stderr[-3000:]
    after_one_epoch = sum(path.stat().st_size for path in (tmp_path / "sized").rglob("*") if path.is_file())

    disk = small_disk(int(after_one_epoch * 1.3) + 64 * 1024)  # room for epoch 1, not for epoch 2's checkpoint
    output = disk / "run"
    full = subprocess.run(_train_command(manifest, output, 3), capture_output=True, text=True, timeout=600)
    assert full.returncode == 1, full.stderr[-6000:]
    assert "error: " in full.stderr and "Traceback" not in full.stderr
    assert "No space left on device" in full.stderr or "not written whole" in full.stderr
    assert _newest_checkpoint(output) == 1 and not list(output.rglob(".*tmp-*"))

    subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
    _resume(manifest, output, 3)
    assert _history(output) == [1, 2, 3]
