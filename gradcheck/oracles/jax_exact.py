"""The JAX oracle for networks of any declared kinds, compiled at their exact shapes.

``E`` is the spec's loss of ``out_l = act_l(kind_l(groups_l, out_{l-1}, options_l))`` with each
kind's forward from :mod:`gradcheck.oracles.jax_network`, plus ``lambda/2 sum W^2`` over every
layer's decayed groups (frozen ones too) where the spec has ``weight_decay = lambda``;
``jax.value_and_grad`` differentiates it with respect to the trainable groups. One compiled
program per network structure (kinds, activations, slopes, options, loss, decayed groups) and
array shapes, cached by ``jit``; x64 is switched on locally, never globally.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gradcheck.oracles.jax_network import JAX_ACTIVATIONS, JAX_KINDS, JAX_LOSSES
from gradcheck.spec import Array, Params, Spec

__all__ = [
    "QUICK_COMPILE",
    "Structure",
    "counted",
    "exact_loss_and_grads_later",
    "keep_program",
    "structure_of",
    "x64",
]

Structure = tuple[
    tuple[str, ...],
    tuple[str, ...],
    tuple[float, ...],
    tuple[Any, ...],
    str,
    tuple[tuple[str, ...], ...],
]  # kinds, activations, slopes, options, loss, decayed groups: hashable, a static argument


def x64() -> AbstractContextManager[Any]:
    """x64 switched on for a block: ``jax.enable_x64(True)``, or nothing where it is on already
    (a script's global setting; entering the context costs some 50 us a call)."""
    on = jax.config.jax_enable_x64  # type: ignore[attr-defined]
    return contextlib.nullcontext() if on else jax.enable_x64(True)


def structure_of(spec: Spec) -> Structure:
    decayed = tuple(tuple(sorted(d)) for d in spec.decayed)
    return (spec.kinds, spec.activations, spec.slopes, spec.options, spec.loss, decayed)


def _loss(params: Any, frozen: Any, x: Any, t: Any, decay: Any, structure: Structure) -> Any:
    """``E`` of the network (every unit and sample real: no padding, no masks), with the
    weight decay ``decay/2 sum W^2`` (a run-time number: no retrace per value)."""
    kinds, activations, slopes, options, loss, decayed = structure
    out = net = x
    squares: Any = 0.0
    for i, kind in enumerate(kinds):
        groups = {**frozen[i], **params[i]}
        net = JAX_KINDS[kind](groups, out, dict(options[i]))
        out = JAX_ACTIVATIONS[activations[i]](net, slopes[i], True)
        squares = squares + sum(jnp.sum(groups[g] ** 2) for g in decayed[i] if g in groups)
    every = jnp.ones(net.shape[-1], dtype=bool)
    return JAX_LOSSES[loss](net, out, t, 1.0, every, float(net.size)) + 0.5 * decay * squares


# Compiled programs kept, by every JAX oracle together: each holds mapped code, and a long run
# over drawn networks (a new shape each) exhausted the process's memory maps ("LLVM ERROR:
# Unable to allocate section memory") after about a thousand, image networks at their exact
# shapes and dense ones in buckets of mixed widths alike. Past this many, every cache starts
# again.
_KEEP_PROGRAMS = 256
_PROGRAMS: set[tuple[Any, ...]] = set()
_JITTED: list[Any] = []  # the jitted functions whose compiled programs count


def counted(jitted: Any) -> Any:
    """``jitted``, its compiled programs counted against :data:`_KEEP_PROGRAMS` (through
    :func:`keep_program`)."""
    _JITTED.append(jitted)
    return jitted


def keep_program(key: tuple[Any, ...]) -> None:
    """Count the program ``key`` (a jitted function's name and what it is compiled for); a new
    one past :data:`_KEEP_PROGRAMS` clears every counted function's cache first."""
    if key not in _PROGRAMS and len(_PROGRAMS) >= _KEEP_PROGRAMS:
        for jitted in _JITTED:
            jitted.clear_cache()
        _PROGRAMS.clear()
    _PROGRAMS.add(key)


_LOSS_AND_GRAD: Any = counted(jax.jit(jax.value_and_grad(_loss), static_argnums=5))
# Small networks skip XLA's backend optimisation and its CPU fusion emitters (loops emitted the
# older way): a compile of the small image networks that generation and shrinking draw, each a
# new program, goes from 0.6-0.8 s to about 0.1 s (0.3 s without the emitters' flag) and their
# run stays well under a millisecond; larger ones keep both (their run is what counts). Their
# machine code is generated in one piece, not split for parallel threads: on two cores the split
# cost CPU time (compiles of 38 drawn image networks, median of 2: 3.6 -> 2.6 s of CPU).
QUICK_COMPILE = {
    "xla_backend_optimization_level": 0,
    "xla_cpu_use_fusion_emitters": False,
    "xla_cpu_parallel_codegen_split_count": 1,
}
_QUICK_LOSS_AND_GRAD: Any = counted(
    jax.jit(jax.value_and_grad(_loss), static_argnums=5, compiler_options=QUICK_COMPILE)
)
_QUICK_WORK = 20_000  # multiply-adds of one forward pass over the whole batch


def _compiled_for(spec: Spec, key: tuple[Any, ...], batch: int) -> Any:
    """The jitted ``value_and_grad`` for ``spec`` (``key``: its program's structure and shapes),
    an unoptimised backend for small networks; counted (:func:`keep_program`)."""
    quick = spec.multiply_adds * batch <= _QUICK_WORK
    keep_program(("exact", quick, *key))
    return _QUICK_LOSS_AND_GRAD if quick else _LOSS_AND_GRAD


def exact_loss_and_grads_later(
    spec: Spec, params: Params, inputs: Array, targets: Array, run: np.dtype[Any]
) -> Callable[[], tuple[float, Params]]:
    """``(E, dE/dparams)`` computed in ``run`` (the arguments already checked): dispatched now,
    collected when the returned function is called."""

    def cast(tree: Params) -> Params:
        return [{k: np.asarray(a, dtype=run) for k, a in g.items()} for g in tree]

    x, t = np.asarray(inputs, dtype=run), np.asarray(targets, dtype=run)
    moved, frozen, structure = cast(params), cast(spec.frozen_params()), structure_of(spec)
    shapes = tuple((k, a.shape) for tree in (moved, frozen) for g in tree for k, a in g.items())
    key = (structure, shapes, x.shape, t.shape, run.name)
    with x64():
        decay = np.asarray(spec.weight_decay, dtype=run)
        loss, grads = _compiled_for(spec, key, len(x))(moved, frozen, x, t, decay, structure)

    def collect() -> tuple[float, Params]:
        out = [{k: np.array(a, dtype=run) for k, a in g.items()} for g in grads]
        return float(loss), out

    return collect
