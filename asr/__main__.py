"""``python -m asr``: the same as the ``asr`` command."""

import sys

from asr.cli import main

sys.exit(main())
