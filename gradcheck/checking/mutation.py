"""Mutation score: how many faults planted in a candidate's own code verification catches.

:func:`mutation_score` takes a candidate (``module:function`` or ``path/to/file.py:function``) and
the networks to verify it on. The candidate must verify on each (else a :class:`GradcheckError`).
Each mutant of its module (:mod:`~gradcheck.checking.mutants`) is loaded from the mutated source,
never written to a file, and judged by the verification ``gradcheck verify`` runs:

- ``killed``: ``gradcheck verify`` would exit 1: a network fails (the mutant raised, returned the
  wrong structure, dtype or numbers), or every network is unsupported (a run that checked nothing
  does not pass); a mutant whose module does not load, or that runs past the timeout, too;
- ``equivalent``: its gradients equal the original's on every network, bitwise or to rounding
  (each entry within :data:`ROUNDING` x layers x eps(dtype) x the gradient's largest entry, the
  rounding the verifier itself allows hand vs JAX), or it is unsupported exactly where the
  original is: verification of these networks cannot tell it apart, so it is listed apart
  (more networks may: a path none of them takes looks equivalent);
- ``survived``: its gradients differ from the original's, yet every network verifies.

The score is ``killed / (mutants - equivalent)``. A network on which a mutant's gradients are
bitwise the original's is not verified again (its verdict would be the original's). Mutants run
in ``jobs`` spawned processes (not forked: XLA's threads), each with JAX's 64-bit setting as
here; how a mutant is imported, so that the candidate calls the mutated code, is
:mod:`~gradcheck.checking.mutant_imports`.
"""

from __future__ import annotations

import dataclasses
import math
import multiprocessing
import os
import random
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal

import numpy as np

from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate, raised_note
from gradcheck.checking.mutant_imports import (
    Target,
    candidate_source,
    fresh_imports,
    import_roots,
    load_fresh,
    not_reimported,
    targets,
)
from gradcheck.checking.mutants import OPERATORS, Mutant, mutants, statement_ran
from gradcheck.checking.parallel import jax_settings, start_worker
from gradcheck.checking.verification import UNSUPPORTED, verify
from gradcheck.spec import Array, GradcheckError, GradientFn, Params, Spec

__all__ = ["ROUNDING", "MutantResult", "MutationReport", "mutation_score"]

# Equivalent: every entry within ROUNDING x layers x eps(dtype) x the gradient's largest entry of
# the original's: the verifier's own rounding allowance for hand vs JAX (16 x layers x eps x the
# entry's term magnitude, which is at least as large) on a mutant that reorders or reshapes sums.
ROUNDING = 16
Status = Literal["killed", "survived", "equivalent"]
Network = tuple[Spec, Params, Array, Array]


@dataclass(frozen=True)
class MutantResult:
    """What verification made of one mutant, why (``reason``), and how long it took;
    ``reached``: the statement it changes ran while the original computed its gradients on
    the networks (False: a path none of them takes, so it is equivalent on them by necessity)."""

    mutant: Mutant
    status: Status
    reason: str
    seconds: float
    reached: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.mutant.to_dict(),
            "status": self.status,
            "reason": self.reason,
            "seconds": self.seconds,
            "reached": self.reached,
        }


@dataclass(frozen=True)
class MutationReport:
    """Every mutant checked (``found`` in all, before a ``limit``), on ``networks`` networks."""

    candidate: str
    modules: tuple[str, ...]
    networks: int
    found: int
    results: tuple[MutantResult, ...]
    jobs: int
    timeout: float
    seconds: float

    def count(self, status: Status) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def score(self) -> float | None:
        """killed / (mutants - equivalent); None where every mutant is equivalent."""
        judged = len(self.results) - self.count("equivalent")
        return self.count("killed") / judged if judged else None

    @property
    def not_reached(self) -> int:
        """Equivalent mutants whose changed statement never ran on these networks."""
        return sum(r.status == "equivalent" and not r.reached for r in self.results)

    @property
    def ok(self) -> bool:
        """No mutant survived: every one that changed a gradient was caught."""
        return self.count("survived") == 0

    def summary(self) -> str:
        """``57 mutants on 12 networks: 50 killed, 2 survived, 5 equivalent; score 96.2% ...``"""
        checked = len(self.results)
        of = f" (a sample of {self.found})" if checked < self.found else ""
        counts = ", ".join(f"{self.count(s)} {s}" for s in ("killed", "survived", "equivalent"))
        if unreached := self.not_reached:
            counts += f" ({unreached} of them on lines no network ran)"
        judged = checked - self.count("equivalent")
        score = "n/a" if self.score is None else f"{100 * self.score:.1f}%"
        return (
            f"{checked} mutants{of} on {self.networks} networks: {counts}; mutation score "
            f"{score} ({self.count('killed')} of {judged}) [{self.seconds:.1f} s, {self.jobs} "
            f"job{'s' if self.jobs > 1 else ''}]"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "candidate": self.candidate,
            "modules": list(self.modules),
            "networks": self.networks,
            "mutants": self.found,
            "checked": len(self.results),
            **{s: self.count(s) for s in ("killed", "survived", "equivalent")},
            "not_reached": self.not_reached,
            "score": self.score,
            "jobs": self.jobs,
            "timeout": self.timeout,
            "seconds": self.seconds,
            "results": [r.to_dict() for r in self.results],
        }


def mutation_score(
    reference: str,
    networks: Sequence[Network],
    *,
    modules: Sequence[str] = (),
    operators: Collection[str] = OPERATORS,
    limit: int | None = None,
    seed: int = 0,
    jobs: int | None = None,
    timeout: float | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    mode: str = "auto",
    progress: Callable[[MutantResult], None] | None = None,
) -> MutationReport:
    """Mutate candidate ``reference`` (``modules``: see
    :func:`~gradcheck.checking.mutant_imports.targets`) and verify each mutant
    on ``networks`` with ``rtol``/``atol``/``mode`` as :func:`verify` takes them. ``limit``:
    at most that many mutants, drawn at random with ``seed``; ``jobs``: processes (default: the
    CPU count; 1 runs here); ``timeout``: seconds per mutant (default: 10x the original's
    verification, at least 60); ``progress`` gets each result as it comes."""
    start = time.perf_counter()
    chosen_targets = targets(reference, modules)
    found = [m for t in chosen_targets for m in mutants(t.source, t.shown, t.name, operators)]
    if not found:
        shown = ", ".join(t.shown for t in chosen_targets)
        raise GradcheckError(f"nothing to mutate in {shown}: no expression the operators change")
    if not networks:
        raise GradcheckError("no networks to verify the mutants on")
    chosen = found
    if limit is not None and limit < len(found):
        chosen = [found[k] for k in sorted(random.Random(seed).sample(range(len(found)), limit))]
    roots, own_source = import_roots(reference, chosen_targets), candidate_source(reference)
    stale = not_reimported(reference, chosen_targets, roots, own_source)
    if stale:
        raise GradcheckError(
            f"--candidate {reference!r} reaches {', '.join(stale)} through a module imported "
            f"once (outside {', '.join(sorted(roots))}), not afresh for each mutant, so no "
            "mutant of it would run: name the candidate by the module that defines it"
        )
    options: dict[str, Any] = {"rtol": rtol, "atol": atol, "mode": mode}
    began = time.perf_counter()
    original = load_candidate(reference)
    unsupported = _baseline(reference, original, networks, options)
    spent = time.perf_counter() - began
    job = _Job(
        reference=reference,
        targets={t.name: t for t in chosen_targets},
        roots=roots,
        candidate_source=own_source,
        networks=list(networks),
        originals=[_outcome(original, n) for n in networks],
        unsupported=unsupported,
        options=options,
        timeout=max(60.0, 10 * spent) if timeout is None else timeout,
        settings=jax_settings(),
    )
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(chosen)))
    ran = _lines_run(original, networks, chosen_targets)
    results = [
        _with_reach(r, job.targets[r.mutant.module], ran) for r in _run(job, chosen, jobs, progress)
    ]
    return MutationReport(
        candidate=reference,
        modules=tuple(t.shown for t in chosen_targets),
        networks=len(networks),
        found=len(found),
        results=tuple(results),
        jobs=jobs,
        timeout=job.timeout,
        seconds=time.perf_counter() - start,
    )


# -- which lines the original ran ----------------------------------------------------------------
def _lines_run(
    original: GradientFn, networks: Sequence[Network], chosen: Sequence[Target]
) -> dict[str, set[int]]:
    """Per module to mutate (by name), the lines that ran while ``original`` computed its
    gradients on each of ``networks`` (a line tracer, for those modules' frames only)."""
    names = {os.path.realpath(t.path): t.name for t in chosen}
    ran: dict[str, set[int]] = {t.name: set() for t in chosen}
    of_file: dict[str, str | None] = {}

    def trace(frame: FrameType, event: str, arg: Any) -> Any:
        file = frame.f_code.co_filename
        if file not in of_file:
            of_file[file] = names.get(os.path.realpath(file))
        name = of_file[file]
        if name is None:
            return None  # not a module to mutate: its lines are not traced
        lines = ran[name]
        lines.add(frame.f_lineno)

        def line(frame: FrameType, event: str, arg: Any) -> Any:
            lines.add(frame.f_lineno)
            return line

        return line

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        for network in networks:
            _outcome(original, network)
    finally:
        sys.settrace(previous)
    return ran


def _with_reach(result: MutantResult, target: Target, ran: dict[str, set[int]]) -> MutantResult:
    """``result`` marked unreached where its statement never ran (:func:`statement_ran`)."""
    if statement_ran(target.source, result.mutant.line, ran.get(target.name, set())):
        return result
    reason = result.reason
    if result.status == "equivalent":
        reason = "its statement never ran on these networks: a path none of them takes"
    return dataclasses.replace(result, reached=False, reason=reason)


# -- what the candidate does: its baseline, and one call's outcome -----------------------------
@dataclass(frozen=True)
class _Raised:
    """A call that raised: ``note`` names the exception; ``unsupported``: Unsupported or
    NotImplementedError (the network is left unchecked, not failed)."""

    note: str
    unsupported: bool


Outcome = Params | _Raised


def _baseline(
    reference: str, original: GradientFn, networks: Sequence[Network], options: dict[str, Any]
) -> list[bool]:
    """The original verified on each network: which are unsupported. A mutation score needs a
    candidate that verifies, so a failing network, or none checked, is bad input."""
    verdicts = [verify(original, *n, catch=CANDIDATE_FAILURES, **options) for n in networks]
    for v in verdicts:
        if not v.ok:
            raise GradcheckError(
                f"--candidate {reference!r} fails verification itself, so its mutants cannot be "
                f"judged: {v.summary(limit=1)}"
            )
    if all(v.unsupported for v in verdicts):
        raise GradcheckError(f"--candidate {reference!r}: every network is unsupported")
    return [bool(v.unsupported) for v in verdicts]


def _outcome(candidate: GradientFn, network: Network) -> Outcome:
    """What ``candidate`` returns on ``network`` (given copies, as :func:`verify` gives)."""
    spec, params, inputs, targets_ = network
    try:
        copies = [{k: np.array(a) for k, a in g.items()} for g in params]
        return candidate(spec, copies, inputs.copy(), targets_.copy())
    except UNSUPPORTED as exc:
        return _Raised(raised_note(candidate, exc), unsupported=True)
    except CANDIDATE_FAILURES as exc:
        return _Raised(raised_note(candidate, exc), unsupported=False)


def _difference(got: Any, original: Outcome) -> float:
    """The largest difference of an entry from the original's, relative to the original's
    largest entry anywhere in the network (0 where bitwise equal): rounding follows the sums
    an entry comes from, not the entry, which may be rounding noise itself (a true zero). inf
    where the structure, a shape or a dtype differs, or one of the two raised (both
    unsupported: 0)."""
    if isinstance(got, _Raised) and isinstance(original, _Raised):
        return 0.0 if got.unsupported and original.unsupported else math.inf
    if isinstance(got, _Raised) or isinstance(original, _Raised):
        return math.inf
    try:
        if len(got) != len(original):
            return math.inf
        gap, scale = 0.0, 0.0
        for mine, theirs in zip(got, original, strict=True):
            if not isinstance(mine, Mapping) or set(mine) != set(theirs):
                return math.inf
            for key, b in theirs.items():
                a = np.asarray(mine[key])
                if a.shape != b.shape or a.dtype != b.dtype:
                    return math.inf
                scale = max(scale, float(np.max(np.abs(b), where=np.isfinite(b), initial=0.0)))
                equal = (a == b) | (np.isnan(a) & np.isnan(b))
                with np.errstate(all="ignore"):
                    gap = max(gap, float(np.max(np.abs(a - b), where=~equal, initial=0.0)))
        if gap == 0.0:
            return 0.0
        return gap / scale if scale > 0 and math.isfinite(gap) else math.inf
    except (TypeError, ValueError):  # not a sequence of dicts of numeric arrays
        return math.inf


# -- one mutant --------------------------------------------------------------------------------
@dataclass
class _Job:
    """What every mutant is judged against; crosses into the worker processes (pickled)."""

    reference: str
    targets: dict[str, Target]
    roots: frozenset[str]  # imported afresh for each mutant: see import_roots
    candidate_source: str | None  # a path/to/file.py candidate's own source
    networks: list[Network]
    originals: list[Outcome]
    unsupported: list[bool]
    options: dict[str, Any]
    timeout: float
    settings: dict[str, Any]  # the parent's JAX settings (parallel.jax_settings)


class _Timeout(BaseException):
    """A mutant ran past the job's timeout (a BaseException: no candidate handler catches it)."""


def _evaluate(job: _Job, mutant: Mutant) -> MutantResult:
    """Load ``mutant`` and classify it (see the module's docstring)."""
    start = time.perf_counter()

    def result(status: Status, reason: str) -> MutantResult:
        return MutantResult(mutant, status, reason, time.perf_counter() - start)

    target = job.targets.get(mutant.module)
    in_file = target is not None and target.by_path  # the mutant is the candidate's own file
    imported = None if target is None or in_file else target
    own_source = mutant.source if in_file else job.candidate_source
    with warnings.catch_warnings(), fresh_imports(job.roots, imported, mutant.source):
        warnings.simplefilter("ignore")  # a mutant's overflows are its verdict's business
        try:
            with _deadline(job.timeout):
                try:
                    candidate = load_fresh(job.reference, own_source)
                except CANDIDATE_FAILURES as exc:
                    message = " ".join(str(exc).split())
                    return result("killed", f"does not load: {type(exc).__name__}: {message}")
                return result(*_classify(job, candidate))
        except _Timeout:
            return result("killed", f"ran past the {job.timeout:g} s timeout")


def _classify(job: _Job, candidate: GradientFn) -> tuple[Status, str]:
    differs: dict[int, float] = {}
    unsupported = list(job.unsupported)
    for k, (network, original) in enumerate(zip(job.networks, job.originals, strict=True)):
        got = _outcome(candidate, network)
        if isinstance(got, _Raised) and not got.unsupported:
            return "killed", f"{network[0].name}: FAILED: {got.note}"
        difference = _difference(got, original)
        if difference == 0.0:
            continue
        verdict = verify(candidate, *network, catch=CANDIDATE_FAILURES, **job.options)
        if not verdict.ok:
            return "killed", verdict.summary(limit=1)
        unsupported[k] = bool(verdict.unsupported)
        spec = network[0]
        if difference > ROUNDING * len(spec.kinds) * float(np.finfo(spec.dtype).eps):
            differs[k] = difference
    n = len(job.networks)
    if all(unsupported):
        return "killed", f"every network unsupported, nothing checked: {n} networks"
    if not differs:
        return "equivalent", f"gradients equal the original's on all {n} networks"
    worst = max(differs.values())
    return "survived", (
        f"verified on all {n} networks; gradients differ from the original's on "
        f"{len(differs)} of them, by up to {worst:.2g} x the largest entry"
    )


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`_Timeout` after ``seconds`` (SIGALRM: the main thread on POSIX only)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "setitimer"
    ):
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise _Timeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- many mutants, in processes ----------------------------------------------------------------
def _run(
    job: _Job, chosen: list[Mutant], jobs: int, progress: Callable[[MutantResult], None] | None
) -> list[MutantResult]:
    if jobs == 1:
        results = []
        for mutant in chosen:
            results.append(_evaluate(job, mutant))
            if progress is not None:
                progress(results[-1])
        return results
    # spawned, not forked: a fork of a process running XLA's threads can deadlock
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, context, initializer=_start_worker, initargs=(job,))
    found: dict[int, MutantResult] = {}
    try:
        futures = {pool.submit(_evaluate_in_worker, m): k for k, m in enumerate(chosen)}
        for future in as_completed(futures):
            found[futures[future]] = future.result()
            if progress is not None:
                progress(found[futures[future]])
    except BaseException as exc:  # Ctrl-C or a worker that died: stop the others now
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        if isinstance(exc, BrokenProcessPool):  # killed for memory, say: name no mutant wrongly
            raise GradcheckError(
                "a process checking mutants died (out of memory?); --jobs 1 runs them one by one"
            ) from None
        raise
    pool.shutdown()
    return [found[k] for k in range(len(chosen))]


_WORKER_JOB: list[_Job] = []  # set once in each worker process


def _start_worker(job: _Job) -> None:
    start_worker(job.settings)
    _WORKER_JOB.append(job)


def _evaluate_in_worker(mutant: Mutant) -> MutantResult:
    return _evaluate(_WORKER_JOB[0], mutant)
