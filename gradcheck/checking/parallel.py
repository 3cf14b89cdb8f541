"""Generated networks drawn and verified in worker processes (``--jobs`` of ``gradcheck verify``
and ``gradcheck report``).

``draw(n, first=i)`` gives cases ``i`` to ``i + n - 1`` of one fixed list (a ``functools.partial``
of :func:`~gradcheck.generate.strategies.sample_networks`, whose case ``i`` has its own seed
``(seed, i)``), so each process draws the slices it is given and verifies them with
:func:`~gradcheck.checking.batched.verify_many`: the verdicts, in case order, are those one
process gives (a case's JAX and finite-difference numbers do not depend on the cases batched
with it). Processes are spawned, not forked (a fork of a process running XLA's threads can
deadlock); each loads the candidate from its reference and takes JAX's 64-bit mode and persistent
compilation cache from the parent.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from gradcheck.checking.batched import verify_many
from gradcheck.checking.candidates import load_candidate
from gradcheck.checking.processes import own_process
from gradcheck.checking.verdict import NetworkVerdict
from gradcheck.errors import GradcheckError
from gradcheck.hand import hand_grads
from gradcheck.spec import GradientFn

__all__ = [
    "MAX_SLICE",
    "SLICE",
    "Draw",
    "Pending",
    "jax_settings",
    "processes",
    "start_worker",
    "verify_drawn",
]

SLICE = 32  # the fewest cases a process draws and verifies at a time
MAX_SLICE = 256  # the most: larger slices batch more networks per JAX call and pass fewer messages
SLICES_PER_PROCESS = 8  # enough that the processes finish together
Draw = Callable[..., Sequence[Sequence[Any]]]  # draw(n, first=i): cases i to i + n - 1


def slice_size(n: int, jobs: int) -> int:
    """Cases per slice for ``n`` cases over ``jobs`` processes: about
    :data:`SLICES_PER_PROCESS` slices each, between :data:`SLICE` and :data:`MAX_SLICE` cases."""
    return max(SLICE, min(MAX_SLICE, n // (jobs * SLICES_PER_PROCESS)))


def processes(jobs: int, n: int) -> int:
    """How many processes ``jobs`` (0: one per CPU) gives ``n`` cases: at most one per
    :data:`SLICE` of them, at least one."""
    wanted = (os.cpu_count() or 1) if jobs == 0 else jobs
    return max(1, min(wanted, -(-n // SLICE)))


class Pending:
    """Verdicts on their way: :meth:`result` waits for them (or computes them, in this
    process), :meth:`cancel` stops the worker processes (a caller that failed meanwhile)."""

    def __init__(
        self,
        compute: Callable[[], list[NetworkVerdict]],
        pool: ProcessPoolExecutor | None = None,
        futures: Sequence[Future[list[NetworkVerdict]]] = (),
    ) -> None:
        self._compute, self._pool, self._futures = compute, pool, futures

    def result(self) -> list[NetworkVerdict]:
        if self._pool is None:
            return self._compute()
        try:
            verdicts = [v for future in self._futures for v in future.result()]
        except BaseException as exc:  # Ctrl-C, a worker that died or raised: stop the others
            self.cancel()
            if isinstance(exc, BrokenProcessPool):
                raise GradcheckError(
                    "a process verifying generated networks died (out of memory?); --jobs 1 "
                    "verifies them in one process"
                ) from None
            raise
        self._pool.shutdown()
        return verdicts

    def cancel(self) -> None:
        """Cancel what has not started and end the worker processes now."""
        if self._pool is None:
            return
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.terminate()


def verify_drawn(
    candidate: GradientFn,
    draw: Draw,
    n: int,
    *,
    jobs: int = 1,
    reference: str | None = None,
    **options: Any,
) -> Pending:
    """``verify_many(candidate, draw(n, first=0), **options)`` in :func:`processes` processes,
    started now: this process may do other work meanwhile, and ``.result()`` collects the
    verdicts. A worker loads the candidate from ``reference`` (``module:function`` or
    ``path/to/file.py:function``; None: gradcheck's hand-derived backprop); a candidate that is
    neither runs in this process, when ``.result()`` is called. A worker sends the verdicts of
    the networks that verified back without their spec (``spec=None``; ``draw(1, first=k)``
    redraws case ``k``): pickling a spec cost more than the rest of its verdict, both ways."""
    if n == 0:  # nothing drawn: not even the draw's arguments are looked at
        return Pending(list)
    jobs = processes(jobs, n)
    if jobs == 1 or (reference is None and candidate is not hand_grads):
        return Pending(lambda: verify_many(candidate, draw(n, first=0), **options))
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        jobs, context, initializer=_start, initargs=(reference, jax_settings())
    )
    size = slice_size(n, jobs)
    futures = [
        pool.submit(_slice, draw, lo, min(size, n - lo), options) for lo in range(0, n, size)
    ]
    return Pending(lambda: [], pool, futures)


# JAX settings a worker takes from this process: 64-bit mode, and the persistent compilation
# cache the CLI sets up (so a second run's workers skip their compiles too)
_CARRIED = (
    "jax_enable_x64",
    "jax_compilation_cache_dir",
    "jax_persistent_cache_min_compile_time_secs",
    "jax_persistent_cache_min_entry_size_bytes",
)


def jax_settings() -> dict[str, Any]:
    """This process's JAX settings a worker should share (:func:`start_worker`)."""
    import jax

    return {name: getattr(jax.config, name) for name in _CARRIED}


def start_worker(settings: dict[str, Any]) -> None:
    """In a worker process: Ctrl-C left to the parent (which stops the workers), warnings
    off, the cycle collector run less often (:func:`~gradcheck.checking.processes.own_process`)
    and the parent's :func:`jax_settings` (this worker's own: no environment change)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")
    own_process()
    import jax

    for name, value in settings.items():
        jax.config.update(name, value)  # type: ignore[no-untyped-call]


_WORKER: list[GradientFn] = []  # the candidate, loaded once in each worker process


def _start(reference: str | None, settings: dict[str, Any]) -> None:
    start_worker(settings)
    _WORKER.append(hand_grads if reference is None else load_candidate(reference))


def _slice(draw: Draw, first: int, n: int, options: dict[str, Any]) -> list[NetworkVerdict]:
    """Cases ``first`` to ``first + n - 1``, drawn and verified in a worker; those that
    verified sent back without their spec (:func:`verify_drawn`)."""
    verdicts = verify_many(_WORKER[0], draw(n, first=first), **options)
    return [v if not v.ok else dataclasses.replace(v, spec=None) for v in verdicts]
