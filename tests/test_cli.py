"""The command line: help lists every command; none crashes."""

from __future__ import annotations

import subprocess
import sys

import pytest

from asr.cli import main

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
