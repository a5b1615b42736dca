"""The ``asr`` command line: parses arguments, calls the library, prints."""

from __future__ import annotations

import argparse
import logging
import sys

from asr import __version__

NOT_YET = {
    "transcribe": "transcribe audio files to text",
    "evaluate": "score a model on manifests (WER, CER, real-time factor)",
    "train": "train an acoustic model with CTC",
    "benchmark": "run models x decoders x manifests and tabulate WER",
    "lm": "build and tune the n-gram language model",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="asr", description="CTC speech recognition: train, transcribe, evaluate.")
    parser.add_argument("--version", action="version", version=f"asr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in NOT_YET.items():
        command = commands.add_parser(name, help=summary, description=summary)
        command.set_defaults(run=_not_implemented)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``asr`` command; return the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    return args.run(args, extra)


def _not_implemented(args: argparse.Namespace, extra: list[str]) -> int:
    """Say that a command is planned but not here yet."""
    print(f"asr {args.command}: not implemented yet", file=sys.stderr)
    return 1
