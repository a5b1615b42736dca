"""The command line: help lists every command; none crashes; stderr holds our lines, not the libraries'."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from asr.cli import main
from asr.verbosity import LOADING_CHATTER, _stderr_without
from conftest import tone, write_audio

COMMANDS = ["transcribe", "evaluate", "train", "benchmark", "lm"]


def test_help_lists_every_command():
    result = subprocess.run([sys.executable, "-m", "asr", "--help"], capture_output=True, text=True, check=True)
    for command in COMMANDS:
        assert command in result.stdout


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(command):
    with pytest.raises(SystemExit) as caught:
        main([command, "--help"])
    assert caught.value.code == 0


# What normal use prints on stderr: our own lines, none of the libraries' start-up chatter (asr.verbosity).

CHATTER = ("cudart", "cuInit", "absl", "oneDNN", "cpu_feature_guard", "Alphabet determined")  # TF, CUDA, pyctcdecode


def _asr(*args: str) -> subprocess.CompletedProcess:
    """``python -m asr ARGS`` as a user runs it: TensorFlow's log level left to the command (pytest's set it)."""
    env = {name: value for name, value in os.environ.items() if name != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "asr", *args], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
def test_transcribe_prints_our_errors_and_none_of_the_libraries_lines(tmp_path):
    wav = write_audio(tmp_path / "tone.wav", tone(1.0), 16_000)
    result = _asr("transcribe", str(wav), str(tmp_path / "missing.wav"))  # the bundled model's lm decoder

    assert result.returncode == 1, result.stderr
    assert f"error: {tmp_path / 'missing.wav'}: no such file" in result.stderr.splitlines()
    assert [line for line in result.stderr.splitlines() if any(word in line for word in CHATTER)] == []


@pytest.mark.slow
def test_verbose_shows_the_libraries_lines(tmp_path):
    wav = write_audio(tmp_path / "tone.wav", tone(1.0), 16_000)
    result = _asr("-v", "transcribe", str(wav), "--decoder", "beam")

    assert result.returncode == 0, result.stderr
    assert "Alphabet determined to be of regular style" in result.stderr  # pyctcdecode's INFO line


def test_loading_chatter_is_dropped_and_every_other_line_kept(capfd):
    lines = ["WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
             "I0000 00:00:1796210831.143073   16918 cudart_stub.cc:31] Could not find cuda drivers on your machine\n",
             "W1202 10:38:01.123456   16918 port.cc:113] oneDNN custom operations are on.\n",
             "E0000 00:00:1796210836.981852   16918 some_library.cc:52] a real failure\n",
             "error: speech.wav: no such file\n"]
    with _stderr_without(LOADING_CHATTER):
        for line in lines:
            os.write(2, line.encode())
        print("WARNING: a warning of ours", file=sys.stderr)
    kept = [lines[3].strip(), lines[4].strip(), "WARNING: a warning of ours"]
    assert sorted(capfd.readouterr().err.splitlines()) == sorted(kept)  # (pytest catches sys.stderr apart)
