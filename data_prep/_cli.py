"""What the data_prep scripts share: the ROOT --output MANIFEST [--strict] parser and the run-and-summarise step.

Importing this module first puts the checkout on ``sys.path``, so that the
scripts run as ``python data_prep/<layout>.py`` from the repository root even
where ``asr`` is not installed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

CHECKOUT = str(Path(__file__).resolve().parents[1])
if CHECKOUT not in sys.path:
    sys.path.insert(0, CHECKOUT)

from asr.constants import SECONDS_PER_HOUR  # noqa: E402,F401  (needs the path above; the scripts use it)
from asr.errors import AsrError  # noqa: E402
from asr.manifest import write_manifest  # noqa: E402


def corpus_parser(doc: str) -> argparse.ArgumentParser:
    """A parser for ``ROOT --output MANIFEST [--strict]``, described by the script's docstring."""
    summary, _, details = doc.strip().partition("\n")
    parser = argparse.ArgumentParser(description=summary, epilog=details.strip(),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", metavar="ROOT", help="the corpus folder")
    parser.add_argument("-o", "--output", metavar="MANIFEST", required=True, help="the JSON-lines manifest to write")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad item instead of skipping it")
    return parser


def prepare(read, args: argparse.Namespace, **options) -> int:
    """Read a corpus with ``read(root, strict=..., **options)``, write its manifest, print a summary; 0 or 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        corpus = read(args.root, strict=args.strict, **options)
    except AsrError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    write_manifest(corpus.utterances, args.output)
    print(f"{args.output}: {len(corpus)} utterances, {corpus.duration / SECONDS_PER_HOUR:.2f} h, "
          f"{len(corpus.problems)} skipped")
    return 0
