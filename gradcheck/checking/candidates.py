"""Candidate gradient functions: loading one by reference, and what one may raise.

A candidate is user code ``(spec, params, inputs, targets) -> grads``, named on the command line
as ``module:function`` or ``path/to/file.py:function``. :func:`load_candidate` imports it;
:data:`CANDIDATE_FAILURES` are the exceptions that, raised by the candidate, fail its network
instead of the run, and :func:`raised_note` names one with the candidate's own file and line.
:func:`candidate_reference` goes the other way: the ``--candidate`` that loads a given function.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import os
import site
import sys
import sysconfig
import traceback
from pathlib import Path

from gradcheck.spec import GradcheckError, GradientFn

__all__ = [
    "CANDIDATE_FAILURES",
    "CandidateError",
    "candidate_reference",
    "import_beside",
    "load_candidate",
    "raised_note",
]

# What a candidate may raise and still get a verdict: it is user code, so any Exception (a
# shape error, an unsupported activation, a RuntimeError) fails that network, naming the
# exception, instead of the run; KeyboardInterrupt and SystemExit are not Exceptions and stop it.
CANDIDATE_FAILURES: tuple[type[Exception], ...] = (Exception,)


class CandidateError(GradcheckError, ValueError):
    """A candidate gradient function could not be loaded (``--candidate module:function``)."""


def import_beside(path: Path) -> None:
    """Let the folder holding ``path`` import: first on ``sys.path`` for the rest of the run, as
    ``python path/to/file.py`` makes it, so a candidate imports the modules beside it (its own
    layers file) at load time or when it runs."""
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


def load_candidate(reference: str) -> GradientFn:
    """Import ``module:function`` (from the working folder or an installed package) or
    ``path/to/file.py:function`` (its folder importable, :func:`import_beside`) as a gradient
    function."""
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
        import_beside(path)
        # Loading runs the user's module body, which may raise anything (a NameError, a failed
        # assert): every such failure is bad input for the run, reported as one line.
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            raise CandidateError(
                f"--candidate {reference!r}: cannot load {path}: {type(exc).__name__}: {exc}"
            ) from None
    else:
        import_beside(Path(os.getcwd()) / "-")  # as `python -m` would: modules beside the user
        try:
            module = importlib.import_module(target)
        except Exception as exc:  # the user's module body, as above
            raise CandidateError(
                f"--candidate {reference!r}: cannot import {target}: {type(exc).__name__}: {exc}"
            ) from None
    fn = getattr(module, name, None)
    if not hasattr(module, name):
        raise CandidateError(f"--candidate {reference!r}: {target} has no function {name!r}")
    if not callable(fn):
        raise CandidateError(
            f"--candidate {reference!r}: {target}.{name} is a {type(fn).__name__}, not a function"
        )
    return fn  # type: ignore[no-any-return]


def candidate_reference(fn: object) -> str | None:
    """The ``--candidate`` that loads ``fn`` when run from the working folder: ``module:name``
    where that module imports from there, or where it is a package's module or installed (found
    outside the working folder), else ``path/to/file.py:name`` (relative to the working folder
    where under it, absolute where not: a module imported from a folder a test put on
    ``sys.path`` does not import in a new process); None for what has no name to load it by (a
    lambda, a nested function, a ``functools.partial``, a method or a callable object)."""
    if not inspect.isfunction(fn) or fn.__qualname__ != fn.__name__ or fn.__name__ == "<lambda>":
        return None
    module = sys.modules.get(fn.__module__)
    source = getattr(module, "__file__", None)
    if module is None or source is None or fn.__module__ == "__main__":
        return None
    file, cwd = Path(source).resolve(), Path.cwd().resolve()
    parts = fn.__module__.split(".")
    if not file.is_relative_to(cwd):
        if len(parts) > 1 or _installed(file):
            return f"{fn.__module__}:{fn.__name__}"
        return f"{file}:{fn.__name__}"
    if file in (cwd.joinpath(*parts).with_suffix(".py"), cwd.joinpath(*parts, "__init__.py")):
        return f"{fn.__module__}:{fn.__name__}"
    return f"{file.relative_to(cwd)}:{fn.__name__}"


def _users(filename: str) -> bool:
    """Whether a traceback's file is the user's: a real file outside the standard library,
    site-packages and gradcheck itself."""
    file = Path(filename)
    if not file.is_file():  # "<string>", "<frozen ...>"
        return False
    file = file.resolve()
    return not _installed(file) and not file.is_relative_to(_GRADCHECK)


_GRADCHECK = Path(__file__).resolve().parents[1]  # the gradcheck package


@functools.cache
def _installed_folders() -> tuple[Path, ...]:
    """The standard library's and the site-packages folders, resolved once per process."""
    paths = sysconfig.get_paths()
    folders = [paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths]
    folders += [*site.getsitepackages(), site.getusersitepackages()]
    return tuple(Path(f).resolve() for f in folders)


def _installed(file: Path) -> bool:
    """Whether ``file`` lies where a new interpreter imports from: the standard library or a
    site-packages folder."""
    return any(file.is_relative_to(f) for f in _installed_folders())


def raised_note(candidate: object, exc: BaseException) -> str:
    """``candidate raised ValueError: <message> at my_layers.py:12``: the exception's type,
    its message on one line and where it was raised in the user's own code: the innermost
    traceback frame in a file of theirs (the candidate's, or a module of theirs it called, such
    as course-style layers behind an adapter), not in the standard library, an installed
    package or gradcheck (a frame in a library is not where the user's mistake is). Without
    such a frame, the innermost one in the candidate's file, then the innermost below the
    caller's."""
    message = " ".join(str(exc).split())
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0]: the caller's own call
    own = _source_file(candidate)
    users = [f for f in frames if f.filename == own or _users(f.filename)]
    mine = users or [f for f in frames if f.filename == own] or frames
    at = f" at {Path(mine[-1].filename).name}:{mine[-1].lineno}" if mine else ""
    return f"candidate raised {type(exc).__name__}{': ' if message else ''}{message}{at}"


def kinds_hint(kinds: tuple[str, ...]) -> str:
    """What to say after a candidate raised on a network with layers beyond dense (generated
    networks hold every kind unless told otherwise): how to declare the kinds it supports."""
    others = [k for k in dict.fromkeys(kinds) if k != "dense"]
    if not others:
        return ""
    return (
        f" (the network has {', '.join(others)} layers: if the candidate does not handle them, "
        "declare the kinds it does, --kinds dense or a family's kinds, or raise "
        "gradcheck.Unsupported)"
    )


def _source_file(candidate: object) -> str | None:
    """The file a candidate's code was compiled from, as its traceback frames name it
    (through ``functools.partial``, decorators that set ``__wrapped__`` and ``__call__``)."""
    while True:
        if isinstance(candidate, functools.partial):
            candidate = candidate.func
        elif hasattr(candidate, "__wrapped__"):
            candidate = candidate.__wrapped__
        else:
            break
    if not (inspect.isfunction(candidate) or inspect.ismethod(candidate)) and callable(candidate):
        candidate = type(candidate).__call__  # an instance of a class with __call__
    code = getattr(candidate, "__code__", None)
    return None if code is None else str(code.co_filename)
