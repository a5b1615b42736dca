"""Write a manifest of LJSpeech.

Layout: ROOT/metadata.csv with lines "id|text|normalized_text" (the normalised
column is used when present), and the audio ROOT/wavs/<id>.wav.

Example:
  python data_prep/ljspeech.py LJSpeech-1.1 --output manifests/ljspeech.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_ljspeech


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    args = corpus_parser(__doc__).parse_args(argv)
    return prepare(read_ljspeech, args)


if __name__ == "__main__":
    sys.exit(main())
