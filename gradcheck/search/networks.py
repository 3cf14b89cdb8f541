"""Generated networks drawn and verified in worker processes: ``gradcheck verify --jobs N``.

Case ``i`` of :func:`~gradcheck.generate.strategies.sample_networks` comes from its own seed
``(seed, i)``, so each process draws the slices it is given and verifies them with
:func:`~gradcheck.checking.batched.verify_many`: the verdicts, in case order, are those one
process gives (a case's JAX and finite-difference numbers do not depend on the cases batched
with it). Processes are spawned, not forked (a fork of a process running XLA's threads can
deadlock); each loads the candidate from its reference and switches JAX's 64-bit mode as the
parent has it.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import warnings
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from gradcheck.checking.batched import verify_many
from gradcheck.checking.candidates import load_candidate
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.errors import GradcheckError
from gradcheck.generate.strategies import sample_networks
from gradcheck.spec import GradientFn
from gradcheck.spec.family import Family

__all__ = ["SLICE", "verify_drawn"]

SLICE = 32  # cases a process draws and verifies at a time: small enough to share the work out


def verify_drawn(
    candidate: str | None,
    n: int,
    seed: int,
    family: Family | None = None,
    jobs: int = 1,
    **options: Any,
) -> list[NetworkVerdict]:
    """Verdicts of the ``n`` networks ``sample_networks(n, seed, family=family)`` draws, for
    the candidate ``module:function`` (None: gradcheck's hand-derived backprop), in ``jobs``
    processes (0: one per CPU; 1: this one). ``options``: ``verify``'s keywords."""
    jobs = (os.cpu_count() or 1) if jobs == 0 else jobs
    jobs = max(1, min(jobs, -(-n // SLICE)))
    if jobs == 1:
        return verify_many(
            _candidate(candidate), sample_networks(n, seed, family=family), **options
        )
    x64 = _x64()
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, context, initializer=_start, initargs=(candidate, x64))
    try:
        futures: list[Future[list[NetworkVerdict]]] = [
            pool.submit(_slice, seed, family, lo, min(SLICE, n - lo), options)
            for lo in range(0, n, SLICE)
        ]
        verdicts = [v for future in futures for v in future.result()]
    except BaseException as exc:  # Ctrl-C, a worker that died or raised: stop the others now
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        if isinstance(exc, BrokenProcessPool):
            raise GradcheckError(
                "a process verifying generated networks died (out of memory?); --jobs 1 "
                "verifies them in one process"
            ) from None
        raise
    pool.shutdown()
    return verdicts


def _candidate(reference: str | None) -> GradientFn:
    if reference is None:
        from gradcheck.hand import hand_grads

        return hand_grads
    return load_candidate(reference)


def _x64() -> bool:
    import jax

    return bool(jax.config.read("jax_enable_x64"))  # type: ignore[no-untyped-call]


_WORKER: list[GradientFn] = []  # the candidate, loaded once in each worker process


def _start(candidate: str | None, x64: bool) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    warnings.simplefilter("ignore")
    import jax

    jax.config.update("jax_enable_x64", x64)  # type: ignore[no-untyped-call]  # this worker only
    _WORKER.append(_candidate(candidate))


def _slice(
    seed: int, family: Family | None, first: int, n: int, options: dict[str, Any]
) -> list[NetworkVerdict]:
    """Cases ``first`` to ``first + n - 1``, drawn and verified in a worker."""
    cases = sample_networks(n, seed, family=family, first=first)
    return verify_many(_WORKER[0], cases, **options)
