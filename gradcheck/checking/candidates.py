"""Candidate gradient functions: loading one by reference, and what one may raise.

A candidate is user code ``(spec, params, inputs, targets) -> grads``, named on the command line
as ``module:function`` or ``path/to/file.py:function``. :func:`load_candidate` imports it;
:data:`CANDIDATE_FAILURES` are the exceptions that, raised by the candidate, fail its network
(naming the exception) instead of the run.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from gradcheck.spec import GradcheckError, GradientFn

__all__ = ["CANDIDATE_FAILURES", "CandidateError", "load_candidate"]

# What a candidate may raise and still get a verdict: it is user code, so any Exception (a
# shape error, an unsupported activation, a RuntimeError) fails that network, naming the
# exception, instead of the run; KeyboardInterrupt and SystemExit are not Exceptions and stop it.
CANDIDATE_FAILURES: tuple[type[Exception], ...] = (Exception,)


class CandidateError(GradcheckError, ValueError):
    """A candidate gradient function could not be loaded (``--candidate module:function``)."""


def load_candidate(reference: str) -> GradientFn:
    """Import ``module:function`` or ``path/to/file.py:function`` as a gradient function."""
    target, sep, name = reference.rpartition(":")
    if not sep or not target or not name.isidentifier():
        raise CandidateError(
            f"--candidate {reference!r}: expected module:function or path/to/file.py:function"
        )
    if target.endswith(".py"):
        path = Path(target)
        spec = importlib.util.spec_from_file_location(path.stem, path)
        if not path.is_file() or spec is None or spec.loader is None:
            raise CandidateError(f"--candidate {reference!r}: no such file {path}")
        module = importlib.util.module_from_spec(spec)
        # Loading runs the user's module body, which may raise anything (a NameError, a failed
        # assert): every such failure is bad input for the run, reported as one line.
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CandidateError(
                f"--candidate {reference!r}: cannot load {path}: {type(exc).__name__}: {exc}"
            ) from None
    else:
        sys.path.insert(0, os.getcwd())  # as `python -m` would: modules beside the user
        try:
            module = importlib.import_module(target)
        except Exception as exc:  # the user's module body, as above
            raise CandidateError(
                f"--candidate {reference!r}: cannot import {target}: {type(exc).__name__}: {exc}"
            ) from None
        finally:
            sys.path.remove(os.getcwd())
    fn = getattr(module, name, None)
    if not callable(fn):
        raise CandidateError(f"--candidate {reference!r}: {target} has no function {name!r}")
    return fn  # type: ignore[no-any-return]
