"""How much the ``asr`` command says on stderr: our messages always, the libraries' start-up chatter only with ``-v``.

In normal use TensorFlow, XLA and CUDA print lines such as ``Could not find
cuda drivers on your machine`` and ``failed call to cuInit``, and pyctcdecode
logs ``Alphabet determined to be of regular style.``; none of them is about
the user's input. :func:`set_verbosity`, called by the command line before
anything imports TensorFlow, hides them:

* ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set) keeps TensorFlow's C++ log
  (INFO, WARNING and ERROR: the oneDNN and CPU-instruction notices, cuInit)
  quiet once TensorFlow has read it;
* TensorFlow's shared libraries log a few lines while they are being loaded,
  before that setting applies (``WARNING: All log messages before
  absl::InitializeLog() ...`` and ``cudart_stub.cc ... Could not find cuda
  drivers``): ``import tensorflow`` runs with stderr caught, and those
  INFO/WARNING lines are dropped while every other line is passed on;
* the ``pyctcdecode`` logger shows WARNING and above only.

With ``verbose`` TensorFlow logs everything (``TF_CPP_MIN_LOG_LEVEL=0`` unless
set) and every logger down to DEBUG. Our own ``error:`` lines, log messages
and warnings are never filtered.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

TENSORFLOW_LOG_LEVEL = {False: "3", True: "0"}  # TF_CPP_MIN_LOG_LEVEL: 3 hides INFO, WARNING and ERROR; 0 shows all
QUIET_LOGGERS = ("pyctcdecode", "tf2onnx", "faster_whisper")  # Python loggers whose INFO lines are noise in normal use
LOG_FORMAT = "%(levelname)s: %(message)s"
# What TensorFlow's libraries print while loading, before TF_CPP_MIN_LOG_LEVEL applies: absl's notice that it
# is not yet initialised, and its INFO and WARNING lines ("I0000 00:00:1796.5 16918 cudart_stub.cc:31] ...").
LOADING_CHATTER = re.compile(r"WARNING: All log messages before absl::InitializeLog\(\)"
                             r"|[IW]\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] ")


def set_verbosity(verbose: bool) -> None:
    """Set what the command line prints on stderr; call it before anything imports TensorFlow.

    Parameters
    ----------
    verbose : bool
        Show the libraries' own lines (``asr -v``) rather than hide them.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", TENSORFLOW_LOG_LEVEL[verbose])
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT)
    if verbose:
        return
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietImport("tensorflow"))


class _QuietImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Runs the first import of one module with its loading chatter removed from stderr, then steps aside."""

    def __init__(self, name: str):
        self.name = name
        self._loader = None

    def find_spec(self, fullname, path=None, target=None):
        """The module's own spec, with this object as its loader; None for every other module."""
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            self._loader, spec.loader = spec.loader, self
        return spec

    def create_module(self, spec):
        """The module its own loader creates."""
        return self._loader.create_module(spec)

    def exec_module(self, module):
        """Run the module by its own loader with the chatter filtered out of stderr."""
        module.__spec__.loader = module.__loader__ = self._loader
        with _stderr_without(LOADING_CHATTER):
            self._loader.exec_module(module)


@contextmanager
def _stderr_without(chatter: re.Pattern) -> Iterator[None]:
    """Catch what the process writes to file descriptor 2 in the block; pass on the lines ``chatter`` does not match.

    Native libraries write to the descriptor directly, so ``sys.stderr`` cannot
    be swapped instead. A process that dies inside the block loses what it
    wrote there (``asr -v`` does not filter).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            kept = [line for line in caught.read().decode(errors="replace").splitlines(keepends=True)
                    if not chatter.match(line)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()
