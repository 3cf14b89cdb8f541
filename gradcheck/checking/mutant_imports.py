"""Which modules a mutation run plants faults in, and how a mutant of one is imported.

:func:`targets` names the modules: those asked for (a package: each of its modules), or by
default the one that defines the candidate. A mutant is imported afresh, never written to a
file: within :func:`fresh_imports`, every module under the run's :func:`import_roots` (each
mutated module's package, and the candidate module's) is imported again from its file, except
the mutated one, which is compiled from the mutant's source under its own file name (so that
tracebacks and ``raised_note`` name the right line); :func:`load_fresh` then gets the candidate
function from those fresh modules, which is how ``gradcheck.hand:hand_grads`` comes to call a
mutated ``gradcheck.hand.dense``. Afterwards the modules are back as they were.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import inspect
import os
import pkgutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from gradcheck.checking.candidates import CandidateError, import_beside, load_candidate
from gradcheck.spec import GradientFn

__all__ = [
    "Target",
    "candidate_source",
    "fresh_imports",
    "import_roots",
    "load_fresh",
    "not_reimported",
    "targets",
]


@dataclass(frozen=True)
class Target:
    """A module to mutate: its import ``name`` (a file candidate's: the file's stem), its file,
    the name it is shown by (``shown``: relative to the working folder where under it), its
    source, and whether it is loaded from its path (a ``path/to/file.py`` candidate)."""

    name: str
    path: str
    shown: str
    source: str = field(repr=False)
    by_path: bool = False


def targets(reference: str, modules: Sequence[str] = ()) -> list[Target]:
    """The modules to mutate for candidate ``reference``: ``modules`` (import names; a package
    stands for each of its modules), or by default the module that defines the candidate."""
    fn = load_candidate(reference)
    if modules:
        return [t for name in modules for t in _package_targets(name)]
    file = reference.rpartition(":")[0]
    if file.endswith(".py"):
        return [_target(Path(file).stem, Path(file), by_path=True)]
    defining = getattr(inspect.unwrap(fn), "__module__", None)
    module = sys.modules.get(defining or "")
    if module is None or not str(getattr(module, "__file__", "")).endswith(".py"):
        raise CandidateError(f"--candidate {reference!r}: no Python source to mutate")
    return [_target(module.__name__, Path(str(module.__file__)))]


def import_roots(reference: str, chosen: Sequence[Target]) -> frozenset[str]:
    """The packages (or lone modules) imported afresh for each mutant: each mutated module's
    package, and the candidate module's (imported by now: call after :func:`targets`), so that
    every import between the candidate and the mutant sees the mutant."""
    names = [(t.name, t.path) for t in chosen if not t.by_path]
    file = reference.rpartition(":")[0]
    if not file.endswith(".py"):
        module = sys.modules.get(file)
        names.append((file, str(getattr(module, "__file__", ""))))
    return frozenset(
        n if Path(p).name == "__init__.py" else n.rpartition(".")[0] or n for n, p in names
    )


def candidate_source(reference: str) -> str | None:
    """A ``path/to/file.py:function`` candidate's source (None for ``module:function``)."""
    file = reference.rpartition(":")[0]
    return Path(file).read_text(encoding="utf-8") if file.endswith(".py") else None


@contextmanager
def fresh_imports(roots: frozenset[str], mutated: Target | None, source: str) -> Iterator[None]:
    """Within: every module under ``roots`` imports afresh, ``mutated`` from ``source`` (None:
    only a file candidate is mutated, which :func:`load_fresh` runs itself); after: the modules
    as they were."""

    def under(name: str) -> bool:
        return any(name == r or name.startswith(r + ".") for r in roots)

    saved = {name: m for name, m in sys.modules.items() if under(name)}
    for name in saved:
        del sys.modules[name]
    finder = None if mutated is None else _Finder(mutated, source)
    if finder is not None:
        sys.meta_path.insert(0, finder)
    cwd = os.getcwd()
    sys.path.insert(0, cwd)  # as load_candidate imports: modules beside the user
    try:
        yield
    finally:
        sys.path.remove(cwd)
        if finder is not None:
            sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if under(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        for name, module in saved.items():  # a fresh import rebound the parent's attribute
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)


def load_fresh(reference: str, own_source: str | None) -> GradientFn:
    """The candidate function, imported afresh (within :func:`fresh_imports`); a file
    candidate is run from ``own_source`` (its source, or a mutant of it)."""
    file, _, name = reference.rpartition(":")
    if file.endswith(".py"):
        spec = importlib.util.spec_from_file_location(Path(file).stem, file)
        if spec is None or own_source is None:
            raise CandidateError(f"--candidate {reference!r}: no such file {file}")
        module = importlib.util.module_from_spec(spec)  # as load_candidate: not in sys.modules
        import_beside(Path(file))
        exec(compile(own_source, file, "exec"), module.__dict__)
    else:
        module = importlib.import_module(file)
    fn: GradientFn = getattr(module, name)
    return fn


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports ``target`` from ``source`` (a mutant's) instead of its file."""

    def __init__(self, target: Target, source: str) -> None:
        self.target, self.source = target, source

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.target.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.target.path, loader=self)

    def is_package(self, fullname: str) -> bool:
        return Path(self.target.path).name == "__init__.py"

    def create_module(self, spec: Any) -> ModuleType | None:
        return None  # the default module

    def exec_module(self, module: ModuleType) -> None:
        exec(compile(self.source, self.target.path, "exec"), module.__dict__)


def not_reimported(
    reference: str, chosen: Sequence[Target], roots: frozenset[str], own_source: str | None
) -> list[str]:
    """The chosen modules that were imported with the candidate but that loading it afresh
    does not import again: the candidate reaches them through a module outside ``roots`` (say
    a re-export from a package's top level), so their mutants would never be called."""
    stale = []
    for target in chosen:
        before = sys.modules.get(target.name)
        if target.by_path or before is None:
            continue  # a module the candidate does not import: its mutants are equivalent
        with fresh_imports(roots, target, target.source):
            load_fresh(reference, own_source)
            if sys.modules.get(target.name, before) is before:
                stale.append(target.name)
    return stale


def _package_targets(name: str) -> list[Target]:
    """Module ``name``, or every module of package ``name``, as targets."""
    cwd = os.getcwd()
    sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(name)
        names = [name]
        if hasattr(module, "__path__"):
            names += [m.name for m in pkgutil.walk_packages(module.__path__, name + ".")]
        found = [(n, importlib.util.find_spec(n)) for n in names]
    except (ImportError, ValueError) as exc:
        raise CandidateError(f"--mutate {name!r}: cannot import it: {exc}") from None
    finally:
        sys.path.remove(cwd)
    sources = [(n, s.origin) for n, s in found if s and s.origin and s.origin.endswith(".py")]
    if not sources:
        raise CandidateError(f"--mutate {name!r}: no Python source to mutate")
    return [_target(n, Path(origin)) for n, origin in sources]


def _target(name: str, path: Path, by_path: bool = False) -> Target:
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    shown = str(resolved.relative_to(cwd)) if resolved.is_relative_to(cwd) else str(resolved)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CandidateError(f"cannot read {path}: {exc.strerror}") from None
    return Target(name, str(path), shown, source, by_path)
