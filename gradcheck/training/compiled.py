"""The compiled training program and its cache: :func:`_loop` builds the pure function that runs
``n_records * every`` steps as one ``lax.scan`` (a ``fori_loop`` inside each record), and
:func:`_compiled` traces and compiles it once per network shape, optimizer, rule, step count,
placement and XLA options, keeping the most recently used programs. :func:`trace_count` counts
the traces; :func:`_compiler_options` skips XLA's backend optimisation for cheap runs.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import jax
from jax import numpy as jnp

from gradcheck.spec import Spec
from gradcheck.training.calls import CALL_RECORDS
from gradcheck.training.jax_step import UPDATE_RULES as STEP_RULES
from gradcheck.training.jax_step import Net, Tree, merge
from gradcheck.training.jax_step import forward as jax_forward
from gradcheck.training.jax_step import objective as jax_objective

_TRACES = [0]
_COMPILED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # most recently used last
_KEEP_COMPILED = 64  # programs kept per process; generated-network sweeps would grow unbounded


def trace_count() -> int:
    """How many times this process has traced a training or evaluation program."""
    return _TRACES[0]


def _loop(
    net: Net, optimizer: str, rule: str, n_records: int, every: int
) -> Callable[..., tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]]:
    """``n_records * every`` steps, recording the loss before every ``every``-th step, then the
    outputs and loss after the last one."""

    def run(
        params: Tree, state: Tree, frozen: Tree, x: jax.Array, t: jax.Array, lr: jax.Array
    ) -> tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]:
        _TRACES[0] += 1  # a Python side effect: runs once per trace, never per step
        step = STEP_RULES[rule](net, optimizer, lr, frozen, x, t)

        def record(carry: tuple[Tree, Tree], _: None) -> tuple[tuple[Tree, Tree], jax.Array]:
            carry, loss = step(carry)
            if every > 1:
                carry = jax.lax.fori_loop(0, every - 1, lambda _i, c: step(c)[0], carry)
            return carry, loss

        (params, state), losses = jax.lax.scan(record, (params, state), None, length=n_records)
        layers = merge(params, frozen)
        nets, outs = jax_forward(net, layers, x)
        return params, state, losses, outs[-1], jax_objective(net, layers, nets[-1], t)

    return run


# Below this much arithmetic (multiply-adds, whole run: 6 per forward multiply-add, forward,
# backward and update) XLA's compile time dwarfs the run: such
# programs are compiled without backend optimisation. On the 2-2-2 seed (10000 steps) that takes
# the compile from ~100 ms to ~65 ms and the run from ~0.9 ms to ~1.8 ms. Dense networks only:
# the built-in conv net's 1000 steps take 374 ms unoptimised against 26 ms optimised.
_CHEAP_RUN = 1e8


def _compiler_options(spec: Spec, steps: int) -> dict[str, Any]:
    """XLA options for a run of ``steps``: no backend optimisation when the run is cheap."""
    work = 6.0 * spec.multiply_adds * len(spec.model.samples) * steps
    cheap = work < _CHEAP_RUN and spec.is_dense  # unoptimised convolutions run ~14x slower
    return {"xla_backend_optimization_level": 0} if cheap else {}


def _compiled(
    key: tuple[Any, ...],
    fn: Callable[..., Any],
    args: Sequence[Any],
    shardings: tuple[Sequence[Any], Sequence[Any]],
    options: dict[str, Any],
) -> tuple[Any, float]:
    """The compiled program for ``key`` and argument shapes, and the seconds spent tracing and
    compiling it now (0 when an earlier run of the same shape compiled it)."""
    full_key = (*key, tuple(sorted(options.items())), jax.tree.structure(args), _avals(args))
    if full_key in _COMPILED:
        _COMPILED.move_to_end(full_key)
        return _COMPILED[full_key], 0.0
    start = time.perf_counter()
    jitted = jax.jit(fn, in_shardings=tuple(shardings[0]), out_shardings=tuple(shardings[1]))
    compiled = jitted.lower(*args).compile(options or None)
    _COMPILED[full_key] = compiled
    if len(_COMPILED) > _KEEP_COMPILED:
        _COMPILED.popitem(last=False)
    return compiled, time.perf_counter() - start


def _avals(args: Sequence[Any]) -> tuple[tuple[tuple[int, ...], str], ...]:
    return tuple((tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(args))


def _timed_loop(
    net: Net, optimizer: str, rule: str
) -> Callable[..., tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]]:
    """Like :func:`gradcheck.training.compiled._loop`, but the number of records (at most
    CALL_RECORDS; the losses past it are zeros) and the steps per record are run-time
    arguments, so one compiled program serves calls of any size."""

    def run(
        params: Tree,
        state: Tree,
        frozen: Tree,
        x: jax.Array,
        t: jax.Array,
        lr: jax.Array,
        n_records: jax.Array,
        every: jax.Array,
    ) -> tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]:
        _TRACES[0] += 1  # once per trace, as in _loop
        step = STEP_RULES[rule](net, optimizer, lr, frozen, x, t)

        def record(i: jax.Array, carry: tuple[Tree, jax.Array]) -> tuple[Tree, jax.Array]:
            (params_state, losses) = carry
            params_state, loss = step(params_state)
            params_state = jax.lax.fori_loop(0, every - 1, lambda _i, c: step(c)[0], params_state)
            return params_state, losses.at[i].set(loss)

        losses = jnp.zeros(CALL_RECORDS, dtype=x.dtype)
        (params, state), losses = jax.lax.fori_loop(0, n_records, record, ((params, state), losses))
        layers = merge(params, frozen)
        nets, outs = jax_forward(net, layers, x)
        return params, state, losses, outs[-1], jax_objective(net, layers, nets[-1], t)

    return run
