"""Multi-worker training: two worker processes on 127.0.0.1 end with identical weights."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import h5py
import numpy as np
import pytest

from test_training import _tone_manifest


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _weights(path) -> dict[str, np.ndarray]:
    found = {}
    with h5py.File(path, "r") as handle:
        handle.visititems(lambda name, item: found.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset)
                          else None)
    return found


@pytest.mark.slow
def test_two_workers_train_in_step_and_end_with_identical_weights(tmp_path):
    manifest = _tone_manifest(tmp_path / "data", copies=8)
    output = tmp_path / "run"
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    command = [sys.executable, "-m", "asr", "train", "--train", str(manifest), "--output", str(output),
               "--strategy", "multiworker", "--features", "logmel", "--option", "units=16", "--option", "layers=1",
               "--option", "filters=16", "--epochs", "2", "--max-frames", "400", "--no-spec-augment",
               "--cache-dir", str(tmp_path / "cache"), "--progress", "epoch", "--seed", "7"]
    processes = []
    for index in range(2):
        environment = dict(os.environ, TF_CONFIG=json.dumps({"cluster": {"worker": workers},
                                                             "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
    logs = [process.communicate(timeout=420)[0] for process in processes]
    for process, log in zip(processes, logs):
        assert process.returncode == 0, log[-3000:]

    chief = _weights(output / "checkpoints" / "epoch-0002.weights.h5")
    other = _weights(output / "workers" / "worker-1" / "checkpoints" / "epoch-0002.weights.h5")
    assert chief.keys() == other.keys() and len(chief) > 5
    for name in chief:
        np.testing.assert_array_equal(chief[name], other[name], err_msg=name)
    first = _weights(output / "checkpoints" / "epoch-0002.weights.h5")
    assert any(np.abs(value).sum() > 0 for value in first.values())
