"""Training as one XLA program: ``jax.jit`` over ``lax.scan`` of a pure step function.

Contract: ``train(spec, steps)`` runs full-batch training of the spec's network and returns a
:class:`TrainResult`. Parameters are the shared structure (``list[dict]`` of trainable ``"W"``
and ``"b"``), carried through the scan with the optimizer state; frozen groups enter the
compiled program as arguments and are never differentiated or updated; a shared bias stays a
0-d array. The step is :mod:`gradcheck.training.jax_step`'s own ``jax.numpy`` code (it shares
nothing with :mod:`gradcheck.hand.backprop`, which serves as the NumPy reference backend); devices,
sharding and the persistent cache come from :mod:`gradcheck.training.devices`.

Update rules, per step with learning rate ``lr``:

* ``gradient-descent``: ``p <- p + update(dE/dp)`` with ``update`` from optax (``sgd``:
  ``-lr g``; ``momentum``: heavy ball with 0.9; ``adam``: optax defaults).
* ``output-first``: plain SGD layer by layer from the output down, each layer's delta computed
  with the *already updated* weights above it (the rule some hand-worked documents use).

One compiled program per network shape, optimizer, rule, step count and placement (a run timed
with ``chunk_seconds``: one whatever its step count and call sizes, :func:`_timed_loop`): a
second run of the same shape reuses it (:func:`trace_count` counts traces); that program and its
cache are in :mod:`gradcheck.training.compiled`, and the result record in
:mod:`gradcheck.training.result`. This module holds :func:`train`, which checks its options and
runs one of the two backends, and re-exports the names callers import from here. Nothing here
changes a global JAX setting except :func:`enable_compilation_cache`, which a caller asks for.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator

import jax
import numpy as np

from gradcheck.hand import forward as numpy_forward
from gradcheck.hand import loss_value as numpy_loss_value
from gradcheck.hand import train_numpy
from gradcheck.layers import GRADIENT_DESCENT, OUTPUT_FIRST
from gradcheck.spec import Array, Params, Spec
from gradcheck.training.calls import (
    CALL_RECORDS,
    Call,
    first_call,
    fixed_calls,
    segments,
    timed_calls,
)
from gradcheck.training.compiled import (
    _compiled,
    _compiler_options,
    _loop,
    _timed_loop,
    trace_count,
)
from gradcheck.training.devices import (
    DEVICES,
    DeviceError,
    Placement,
    TrainError,
    enable_compilation_cache,
    placement,
    resolve_devices,
)
from gradcheck.training.jax_step import MOMENTUM as MOMENTUM
from gradcheck.training.jax_step import OPTIMIZERS as STEP_OPTIMIZERS
from gradcheck.training.jax_step import UPDATE_RULES as STEP_RULES
from gradcheck.training.jax_step import Net, transform
from gradcheck.training.result import TrainResult

__all__ = [
    "BACKENDS",
    "DEVICES",
    "OPTIMIZERS",
    "RULES",
    "DeviceError",
    "TrainError",
    "TrainResult",
    "enable_compilation_cache",
    "resolve_devices",
    "trace_count",
    "train",
]

BACKENDS = ("jax", "numpy")
OPTIMIZERS = tuple(STEP_OPTIMIZERS)
RULES = tuple(STEP_RULES)


def train(
    spec: Spec,
    steps: int,
    *,
    backend: str = "jax",
    optimizer: str = "sgd",
    rule: str = GRADIENT_DESCENT,
    learning_rate: float | None = None,
    dtype: str | None = None,
    device: str = "auto",
    data_parallel: bool = False,
    record_every: int = 1,
    chunks: int = 1,
    chunk_seconds: float | None = None,
    params: Params | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Full-batch training for ``steps`` steps from ``params`` (default: the spec's).

    ``learning_rate``/``dtype`` default to the spec's. ``chunks`` splits the run into that many
    calls of one compiled program, calling ``on_progress(steps_done)`` after each.
    ``chunk_seconds`` instead sizes the calls from measured time so that each takes about that
    long (one compiled program with run-time step counts, whatever the sizes): a caller can then
    act between calls (Ctrl-C cannot stop a call). ``data_parallel`` shards the samples across
    every device of the chosen kind. The NumPy backend runs in one piece, without progress.
    """
    _check_choice("backend", backend, BACKENDS)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    _check_choice("rule", rule, RULES)
    _check_choice("dtype", dtype or spec.model.dtype, ("float64", "float32"))
    for name, value, least in (("steps", steps, 0), ("record_every", record_every, 1)):
        if value < least:
            raise TrainError(f"{name}: must be at least {least}, got {value}")
    if chunks < 1:
        raise TrainError(f"chunks: must be at least 1, got {chunks}")
    if chunk_seconds is not None and not (math.isfinite(chunk_seconds) and chunk_seconds > 0):
        raise TrainError(f"chunk_seconds: must be a finite number > 0, got {chunk_seconds!r}")
    if chunk_seconds is not None and chunks > 1:
        raise TrainError("chunks and chunk_seconds: give one or the other")
    if learning_rate is not None and not (math.isfinite(learning_rate) and learning_rate > 0):
        raise TrainError(f"learning_rate: must be a finite number > 0, got {learning_rate!r}")
    if rule == OUTPUT_FIRST and optimizer != "sgd":
        raise TrainError(f"rule {rule!r} is plain SGD; it cannot use optimizer {optimizer!r}")
    if rule == OUTPUT_FIRST and not spec.is_dense:
        raise TrainError(f"rule {rule!r} updates dense layers only (got kinds {spec.kinds})")
    trained = _with_options(spec, dtype, learning_rate)
    start = trained.initial_params() if params is None else params
    start = [{k: np.asarray(a, dtype=trained.dtype) for k, a in g.items()} for g in start]
    if backend == "numpy":
        return _train_numpy(
            trained, steps, optimizer, rule, device, data_parallel, record_every, start
        )
    with jax.enable_x64(trained.dtype == np.float64):
        place = placement(device, data_parallel, len(trained.model.samples))
        calls = (
            timed_calls(steps, record_every, chunk_seconds, first_call(trained))
            if chunk_seconds is not None and steps > 0
            else None
        )
        return _train_jax(
            trained, steps, optimizer, rule, place, record_every, chunks, calls, start, on_progress
        )


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise TrainError(f"{name} {value!r}: must be one of {', '.join(allowed)}")


def _with_options(spec: Spec, dtype: str | None, learning_rate: float | None) -> Spec:
    """The same network with another dtype or learning rate (still a frozen, valid spec)."""
    model = spec.model
    if dtype is not None:
        model = model.model_copy(update={"dtype": dtype})
    if learning_rate is not None:
        opt = model.optimizer.model_copy(update={"learning_rate": float(learning_rate)})
        model = model.model_copy(update={"optimizer": opt})
    return spec if model is spec.model else Spec(model, spec.path)


def _train_jax(
    spec: Spec,
    steps: int,
    optimizer: str,
    rule: str,
    place: Placement,
    record_every: int,
    chunks: int,
    timed: Generator[Call, float, None] | None,
    start: Params,
    on_progress: Callable[[int], None] | None,
) -> TrainResult:
    net = Net(
        spec.kinds,
        spec.activations,
        spec.slopes,
        spec.loss,
        spec.weight_decay,
        spec.options,
        spec.decayed,
    )
    rep, batch = place.replicated, place.batch
    params = jax.device_put(start, rep)
    frozen = jax.device_put(spec.frozen_params(), rep)
    x, t = jax.device_put(spec.inputs(), batch), jax.device_put(spec.targets(), batch)
    lr = jax.device_put(np.asarray(spec.learning_rate, dtype=spec.dtype), rep)
    state = jax.device_put(transform(optimizer, spec.learning_rate).init(params), rep)
    compile_s = run_s = 0.0
    history: list[Array] = []
    done = 0
    options = _compiler_options(spec, steps)
    parts = segments(steps, record_every, chunks) or [(0, 1)]  # 0 steps: outputs only
    calls = timed or fixed_calls(parts)
    call: Call | None = next(calls)
    while call is not None:
        n_records, every, keep = call
        args: tuple[object, ...] = (params, state, frozen, x, t, lr)
        if timed is None:
            key: tuple[object, ...] = ("loop", net, optimizer, rule, n_records, every, place.key)
            program = _loop(net, optimizer, rule, n_records, every)
        else:
            key = ("timed", net, optimizer, rule, CALL_RECORDS, place.key)
            program = _timed_loop(net, optimizer, rule)
            args += (np.int32(n_records), np.int32(every))
        shardings = ((rep, rep, rep, batch, batch, rep) + (rep,) * (len(args) - 6), (rep,) * 5)
        run, seconds = _compiled(key, program, args, shardings, options)
        compile_s += seconds
        began = time.perf_counter()
        params, state, losses, outputs, loss = run(*args)
        losses = np.array(losses)  # waits for the call to finish
        took = time.perf_counter() - began
        run_s += took
        if keep:
            history.append(losses[:n_records])
        done += n_records * every
        if on_progress is not None:
            on_progress(done)
        try:
            call = calls.send(took)
        except StopIteration:
            call = None
    return TrainResult(
        spec=spec,
        backend="jax",
        device=place.label,
        n_devices=place.n_devices,
        optimizer=optimizer,
        rule=rule,
        steps=steps,
        record_every=record_every,
        params=[{k: np.array(a) for k, a in g.items()} for g in params],
        outputs=np.array(outputs),
        loss=float(loss),
        loss_history=np.concatenate(history),
        seconds=run_s,
        compile_seconds=compile_s,
    )


def _train_numpy(
    spec: Spec,
    steps: int,
    optimizer: str,
    rule: str,
    device: str,
    data_parallel: bool,
    record_every: int,
    start: Params,
) -> TrainResult:
    """The hand-derived NumPy loop (:func:`gradcheck.hand.backprop.train_numpy`) as a backend."""
    if optimizer != "sgd" or rule != GRADIENT_DESCENT:
        raise TrainError(
            f"backend 'numpy' runs plain SGD with rule {GRADIENT_DESCENT!r} only, "
            f"not optimizer {optimizer!r} with rule {rule!r}; use backend 'jax'"
        )
    if device == "gpu" or data_parallel:
        asked = "device 'gpu'" if device == "gpu" else "data_parallel"
        raise TrainError(f"backend 'numpy' runs on one CPU, not with {asked}; use backend 'jax'")
    began = time.perf_counter()
    params, history = train_numpy(spec, steps, params=start, record_every=record_every)
    seconds = time.perf_counter() - began
    x, t = spec.inputs(), spec.targets()
    return TrainResult(
        spec=spec,
        backend="numpy",
        device="cpu (numpy)",
        n_devices=1,
        optimizer=optimizer,
        rule=rule,
        steps=steps,
        record_every=record_every,
        params=params,
        outputs=numpy_forward(spec, params, x).outs[-1],
        loss=numpy_loss_value(spec, params, x, t),
        loss_history=history,
        seconds=seconds,
        compile_seconds=0.0,
    )
