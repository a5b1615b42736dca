"""The ``asr`` command line: parses arguments, calls the library, prints."""

from __future__ import annotations

import argparse
import json
import logging
import sys

from asr import __version__
from asr.errors import AsrError

NOT_YET = {
    "transcribe": "transcribe audio files to text",
    "evaluate": "score a model on manifests (WER, CER, real-time factor)",
    "benchmark": "run models x decoders x manifests and tabulate WER",
    "lm": "build and tune the n-gram language model",
}


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one sub-parser per command."""
    parser = argparse.ArgumentParser(prog="asr", description="CTC speech recognition: train, transcribe, evaluate.")
    parser.add_argument("--version", action="version", version=f"asr {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_train(commands)
    for name, summary in NOT_YET.items():
        command = commands.add_parser(name, help=summary, description=summary)
        command.set_defaults(run=_not_implemented)
    return parser


def _add_train(commands) -> None:
    """``asr train``: options of :class:`asr.training.TrainConfig`."""
    command = commands.add_parser("train", help="train an acoustic model with CTC",
                                  description="Train an acoustic model with CTC; resumable with --resume.")
    command.add_argument("--train", nargs="+", required=True, metavar="MANIFEST", help="training manifests")
    command.add_argument("--dev", nargs="*", default=[], metavar="MANIFEST", help="dev manifests, scored each epoch")
    command.add_argument("--output", required=True, help="model folder to write")
    command.add_argument("--model", default="cnn_bigru", help="model variant (default: cnn_bigru)")
    command.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                         help="a model hyper-parameter, e.g. --option units=320 --option layers=3")
    command.add_argument("--features", default="spectrogram", choices=["spectrogram", "mfcc", "logmel"])
    command.add_argument("--epochs", type=int, default=30)
    command.add_argument("--learning-rate", type=float, default=1e-3)
    command.add_argument("--max-frames", type=int, default=24_000, help="padded frames in one batch")
    command.add_argument("--speeds", type=float, nargs="+", default=[1.0], help="speed perturbation factors")
    command.add_argument("--noise-snr", type=float, nargs="*", default=[], help="noise perturbation SNRs in dB")
    command.add_argument("--no-spec-augment", action="store_true", help="train without SpecAugment")
    command.add_argument("--patience", type=int, default=10, help="epochs without dev gain before stopping (0 never)")
    command.add_argument("--cache-dir", default="cache/features")
    command.add_argument("--strategy", default="default", choices=["default", "mirrored", "multiworker"])
    command.add_argument("--seed", type=int, default=0)
    command.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --output")
    command.add_argument("--progress", choices=["bar", "epoch"], default="bar",
                         help="a progress bar, or one line an epoch (for logs)")
    command.set_defaults(run=_train)


def _train(args: argparse.Namespace, extra: list[str]) -> int:
    """Build a TrainConfig from the arguments and train."""
    if extra:
        print(f"asr train: unrecognised arguments: {' '.join(extra)}", file=sys.stderr)
        return 2
    from asr.data import SpecAugment
    from asr.features import FeatureConfig
    from asr.training import TrainConfig, train

    config = TrainConfig(
        train_manifests=tuple(args.train), dev_manifests=tuple(args.dev), output=args.output, model=args.model,
        model_options=dict(_parse_option(option) for option in args.option),
        features=FeatureConfig(kind=args.features), epochs=args.epochs, learning_rate=args.learning_rate,
        max_frames=args.max_frames, speeds=tuple(args.speeds), noise_snr_db=tuple(args.noise_snr),
        spec_augment=None if args.no_spec_augment else SpecAugment(), patience=args.patience,
        cache_dir=args.cache_dir, strategy=args.strategy, seed=args.seed)
    train(config, resume=args.resume, verbose=1 if args.progress == "bar" else 2)
    return 0


def _parse_option(text: str) -> tuple[str, object]:
    """``key=value`` with the value read as JSON where it parses (numbers, booleans), else a string."""
    key, separator, value = text.partition("=")
    if not separator or not key:
        raise SystemExit(f"asr train: --option expects KEY=VALUE, got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    """Run the ``asr`` command; return the exit code (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return args.run(args, extra)
    except AsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (FileExistsError, FileNotFoundError, ValueError) as error:
        print(f"asr {args.command}: {error}", file=sys.stderr)
        return 2


def _not_implemented(args: argparse.Namespace, extra: list[str]) -> int:
    """Say that a command is planned but not here yet."""
    print(f"asr {args.command}: not implemented yet", file=sys.stderr)
    return 1
