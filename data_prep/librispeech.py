"""Write a manifest of a LibriSpeech split.

Layout: ROOT/<speaker>/<chapter>/<speaker>-<chapter>.trans.txt with lines
"ID TEXT", and the audio ID.flac beside it.

Example:
  python data_prep/librispeech.py LibriSpeech/dev-clean --output manifests/dev-clean.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_librispeech


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    args = corpus_parser(__doc__).parse_args(argv)
    return prepare(read_librispeech, args)


if __name__ == "__main__":
    sys.exit(main())
