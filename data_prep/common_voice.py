"""Write a manifest of one table of a Common Voice language folder.

Layout: ROOT/<split>.tsv, tab-separated with a header holding the columns
client_id, path and sentence; the audio is ROOT/clips/<path> (mp3).

Example:
  python data_prep/common_voice.py cv-corpus-17.0/en --split dev --output manifests/cv-en-dev.jsonl
"""

from __future__ import annotations

import sys

from _cli import corpus_parser, prepare  # first: puts the checkout on sys.path

from asr.corpora import read_common_voice


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, read the corpus, write the manifest; return the exit code."""
    parser = corpus_parser(__doc__)
    parser.add_argument("--split", default="validated", help="the table to read: validated, train, dev, test, ...")
    args = parser.parse_args(argv)
    return prepare(read_common_voice, args, split=args.split)


if __name__ == "__main__":
    sys.exit(main())
