"""Training as one XLA program: ``jax.jit`` over ``lax.scan`` of a pure step function.

Contract: ``train(spec, steps)`` runs full-batch training of the spec's network and returns a
:class:`TrainResult`. Parameters are the shared structure (``list[dict]`` of trainable ``"W"``
and ``"b"``), carried through the scan with the optimizer state; frozen groups enter the
compiled program as arguments and are never differentiated or updated; a shared bias stays a
0-d array. The forward pass below is this module's own ``jax.numpy`` code (it shares nothing
with :mod:`gradcheck.backprop`, which serves as the NumPy reference backend).

Update rules, per step with learning rate ``lr``:

* ``gradient``: ``p <- p + update(dE/dp)`` with ``update`` from optax (``sgd``: ``-lr g``;
  ``momentum``: heavy ball with 0.9; ``adam``: optax defaults) - true gradient descent.
* ``sequential``: plain SGD layer by layer from the output down, each layer's delta computed
  with the *already updated* weights above it (the rule some hand-worked documents use).

One compiled program per network shape, optimizer, rule, step count and placement: a second
run of the same shape reuses it (:func:`trace_count` counts traces). Nothing here changes a
global JAX setting except :func:`enable_compilation_cache`, which a caller asks for.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec, SingleDeviceSharding

from gradcheck.backprop import forward as numpy_forward
from gradcheck.backprop import loss_value as numpy_loss_value
from gradcheck.backprop import train_numpy
from gradcheck.spec import Array, GradcheckError, Params, Spec

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
DEVICES = ("cpu", "gpu", "auto")
OPTIMIZERS = ("sgd", "momentum", "adam")
RULES = ("gradient", "sequential")
MOMENTUM = 0.9

Tree = Any  # a pytree of jax arrays shaped like Params (or an optax state)


class TrainError(GradcheckError, ValueError):
    """A training option is invalid; one line naming the option and the value."""


class DeviceError(GradcheckError, RuntimeError):
    """The requested device is not available to JAX; one line saying what would work."""


# -- the network in jax.numpy ------------------------------------------------------------------
_ACTIVATIONS: dict[str, Callable[[jax.Array, float], jax.Array]] = {
    "identity": lambda z, s: z,
    "sigmoid": lambda z, s: jax.nn.sigmoid(z),
    "tanh": lambda z, s: jnp.tanh(z),
    # where(), not maximum(): the derivative at 0 is the left one (0, and slope), as documented.
    "relu": lambda z, s: jnp.where(z > 0, z, jnp.zeros_like(z)),
    "leaky_relu": lambda z, s: jnp.where(z > 0, z, s * z),
    "softplus": lambda z, s: jnp.logaddexp(0.0, z),
    "softmax": lambda z, s: jax.nn.softmax(z, axis=-1),
}


class _Net(NamedTuple):
    """What the compiled code needs to know about a network besides array shapes."""

    activations: tuple[str, ...]
    slopes: tuple[float, ...]
    loss: str


def _merge(params: Tree, frozen: Tree) -> list[dict[str, jax.Array]]:
    return [{**f, **p} for p, f in zip(params, frozen, strict=True)]


def _affine(layer: dict[str, jax.Array], x: jax.Array) -> jax.Array:
    """``net = x @ W.T + b`` (``b`` a scalar for a shared bias, absent for none)."""
    z = x @ layer["W"].T
    return z + layer["b"] if "b" in layer else z


def _forward(
    net: _Net, layers: list[dict[str, jax.Array]], x: jax.Array
) -> tuple[list[jax.Array], list[jax.Array]]:
    """``nets[l-1] = net_l`` and ``outs[l] = act_l(net_l)`` for every layer; ``outs[0] = x``."""
    nets: list[jax.Array] = []
    outs = [x]
    for layer, act, slope in zip(layers, net.activations, net.slopes, strict=True):
        nets.append(_affine(layer, outs[-1]))
        outs.append(_ACTIVATIONS[act](nets[-1], slope))
    return nets, outs


def _loss(net: _Net, z: jax.Array, t: jax.Array) -> jax.Array:
    """The spec's loss from the output layer's net input ``z`` (``o = act_L(z)``)."""
    if net.loss == "softmax_cross_entropy":
        return -jnp.sum(t * jax.nn.log_softmax(z, axis=-1)) / z.shape[0]
    o = _ACTIVATIONS[net.activations[-1]](z, net.slopes[-1])
    if net.loss == "mse":
        return jnp.mean((o - t) ** 2)
    return 0.5 * jnp.sum((t - o) ** 2)


def _total_loss(net: _Net, params: Tree, frozen: Tree, x: jax.Array, t: jax.Array) -> jax.Array:
    return _loss(net, _forward(net, _merge(params, frozen), x)[0][-1], t)


# -- one step ---------------------------------------------------------------------------------
def _transform(optimizer: str, lr: Any) -> optax.GradientTransformation:
    if optimizer == "momentum":
        return optax.sgd(lr, momentum=MOMENTUM)
    if optimizer == "adam":
        return optax.adam(lr)
    return optax.sgd(lr)


def _gradient_step(
    net: _Net, optimizer: str, lr: jax.Array, frozen: Tree, x: jax.Array, t: jax.Array
) -> Callable[[tuple[Tree, Tree]], tuple[tuple[Tree, Tree], jax.Array]]:
    """True gradient descent: ``p <- p - lr g`` for sgd, else optax's update of ``g``."""
    tx = _transform(optimizer, lr)

    def step(carry: tuple[Tree, Tree]) -> tuple[tuple[Tree, Tree], jax.Array]:
        params, state = carry
        loss, grads = jax.value_and_grad(_total_loss, argnums=1)(net, params, frozen, x, t)
        if optimizer == "sgd":  # written out: optax's chain costs compile time for nothing
            return (jax.tree.map(lambda p, g: p - lr * g, params, grads), state), loss
        updates, state = tx.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), loss

    return step


def _sequential_step(
    net: _Net, lr: jax.Array, frozen: Tree, x: jax.Array, t: jax.Array
) -> Callable[[tuple[Tree, Tree]], tuple[tuple[Tree, Tree], jax.Array]]:
    """SGD from the output layer down; ``delta_l = J_act_l^T (delta_{l+1} @ W_{l+1}^new)``."""

    def step(carry: tuple[Tree, Tree]) -> tuple[tuple[Tree, Tree], jax.Array]:
        params, state = carry
        layers = _merge(params, frozen)
        nets, outs = _forward(net, layers, x)
        loss, delta = jax.value_and_grad(lambda z: _loss(net, z, t))(nets[-1])
        new = list(params)
        for i in reversed(range(len(layers))):
            if i < len(layers) - 1:
                act, slope = _ACTIVATIONS[net.activations[i]], net.slopes[i]
                _, act_vjp = jax.vjp(lambda z, a=act, s=slope: a(z, s), nets[i])
                delta = act_vjp(delta @ {**frozen[i + 1], **new[i + 1]}["W"])[0]
            _, affine_vjp = jax.vjp(lambda g, below=outs[i]: _affine(g, below), layers[i])
            grads = affine_vjp(delta)[0]
            new[i] = {k: v - lr * grads[k] for k, v in params[i].items()}
        return (new, state), loss

    return step


# -- the compiled loop ------------------------------------------------------------------------
_TRACES = [0]
_COMPILED: OrderedDict[tuple[Any, ...], Any] = OrderedDict()  # most recently used last
_KEEP_COMPILED = 64  # programs kept per process; generated-network sweeps would grow unbounded


def trace_count() -> int:
    """How many times this process has traced a training or evaluation program."""
    return _TRACES[0]


def _loop(
    net: _Net, optimizer: str, rule: str, n_records: int, every: int
) -> Callable[..., tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]]:
    """``n_records * every`` steps, recording the loss before every ``every``-th step, then the
    outputs and loss after the last one."""

    def run(
        params: Tree, state: Tree, frozen: Tree, x: jax.Array, t: jax.Array, lr: jax.Array
    ) -> tuple[Tree, Tree, jax.Array, jax.Array, jax.Array]:
        _TRACES[0] += 1  # a Python side effect: runs once per trace, never per step
        if rule == "sequential":
            step = _sequential_step(net, lr, frozen, x, t)
        else:
            step = _gradient_step(net, optimizer, lr, frozen, x, t)

        def record(carry: tuple[Tree, Tree], _: None) -> tuple[tuple[Tree, Tree], jax.Array]:
            carry, loss = step(carry)
            if every > 1:
                carry = jax.lax.fori_loop(0, every - 1, lambda _i, c: step(c)[0], carry)
            return carry, loss

        (params, state), losses = jax.lax.scan(record, (params, state), None, length=n_records)
        nets, outs = _forward(net, _merge(params, frozen), x)
        return params, state, losses, outs[-1], _loss(net, nets[-1], t)

    return run


class _Placement(NamedTuple):
    replicated: jax.sharding.Sharding
    batch: jax.sharding.Sharding
    label: str
    n_devices: int
    key: tuple[Any, ...]


def _compiled(
    key: tuple[Any, ...],
    fn: Callable[..., Any],
    args: Sequence[Any],
    shardings: tuple[Sequence[Any], Sequence[Any]],
) -> tuple[Any, float]:
    """The compiled program for ``key`` and argument shapes, and the seconds spent tracing and
    compiling it now (0 when an earlier run of the same shape compiled it)."""
    full_key = (*key, jax.tree.structure(args), _avals(args))
    if full_key in _COMPILED:
        _COMPILED.move_to_end(full_key)
        return _COMPILED[full_key], 0.0
    start = time.perf_counter()
    jitted = jax.jit(fn, in_shardings=tuple(shardings[0]), out_shardings=tuple(shardings[1]))
    compiled = jitted.lower(*args).compile()
    _COMPILED[full_key] = compiled
    if len(_COMPILED) > _KEEP_COMPILED:
        _COMPILED.popitem(last=False)
    return compiled, time.perf_counter() - start


def _avals(args: Sequence[Any]) -> tuple[tuple[tuple[int, ...], str], ...]:
    return tuple((tuple(a.shape), str(a.dtype)) for a in jax.tree.leaves(args))


# -- devices ----------------------------------------------------------------------------------
def _gpus() -> list[jax.Device]:
    try:
        return list(jax.devices("gpu"))
    except RuntimeError:  # JAX raises RuntimeError when no GPU platform is present
        return []


def resolve_devices(device: str) -> list[jax.Device]:
    """The devices ``cpu``, ``gpu`` or ``auto`` (a GPU when JAX sees one, else the CPU) mean."""
    if device not in DEVICES:
        raise DeviceError(f"device {device!r}: must be one of {', '.join(DEVICES)}")
    if device == "cpu":
        return list(jax.devices("cpu"))
    gpus = _gpus()
    if device == "gpu" and not gpus:
        platforms = sorted({d.platform for d in jax.devices()})
        raise DeviceError(
            f"device 'gpu': JAX sees no GPU here (platforms: {', '.join(platforms)}); "
            "install one with pip install 'gradcheck[cuda13]' (or [cuda12]), or use cpu/auto"
        )
    return gpus or list(jax.devices("cpu"))


def _placement(device: str, data_parallel: bool, batch: int) -> _Placement:
    devices = resolve_devices(device)
    if not data_parallel:
        d = devices[0]
        one = SingleDeviceSharding(d)
        return _Placement(one, one, f"{d.platform}:{d.id}", 1, (d.platform, d.id))
    n = len(devices)
    if batch % n:
        raise TrainError(
            f"data_parallel: a batch of {batch} samples does not split evenly across {n} "
            f"{devices[0].platform} devices; use a batch that is a multiple of {n}"
        )
    mesh = Mesh(np.array(devices), ("data",))
    label = f"{devices[0].platform} x{n} (data-parallel)"
    key = (devices[0].platform, tuple(d.id for d in devices), "data")
    return _Placement(
        NamedSharding(mesh, PartitionSpec()),
        NamedSharding(mesh, PartitionSpec("data")),
        label,
        n,
        key,
    )


def enable_compilation_cache(path: str | Path) -> None:
    """Turn on JAX's persistent compilation cache at ``path`` for this process (every entry,
    however quick its compile), so a later process pays no XLA compile for the same program."""
    directory = Path(path).expanduser()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TrainError(
            f"cache directory {directory}: cannot create it ({exc.strerror})"
        ) from None
    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


# -- running ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrainResult:
    """One training run. ``loss_history[i]`` is the loss before step ``i * record_every``;
    ``loss`` and ``outputs`` are after the last step; ``seconds`` excludes compiling."""

    spec: Spec  # the network as trained (dtype and learning rate as used)
    backend: str
    device: str
    n_devices: int
    optimizer: str
    rule: str
    steps: int
    record_every: int
    params: Params
    outputs: Array
    loss: float
    loss_history: Array
    seconds: float
    compile_seconds: float

    @property
    def steps_per_second(self) -> float:
        return self.steps / self.seconds if self.seconds > 0 else math.inf

    def named_params(self) -> dict[str, float]:
        """Every trained scalar by its display name (``w5``), else ``layer 2 W[1,0]``."""
        return {
            self.spec.label(i, group, idx): float(a[idx])
            for i, layer in enumerate(self.params)
            for group, a in layer.items()
            for idx in np.ndindex(a.shape)
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record (plain floats, ints, strings and lists)."""
        return {
            "network": self.spec.name,
            "backend": self.backend,
            "device": self.device,
            "n_devices": self.n_devices,
            "dtype": self.spec.model.dtype,
            "optimizer": self.optimizer,
            "rule": self.rule,
            "learning_rate": self.spec.learning_rate,
            "steps": self.steps,
            "loss": self.loss,
            "outputs": self.outputs.tolist(),
            "params": self.named_params(),
            "loss_history": self.loss_history.tolist(),
            "loss_history_every": self.record_every,
            "seconds": self.seconds,
            "compile_seconds": self.compile_seconds,
            "steps_per_second": None
            if math.isinf(self.steps_per_second)
            else self.steps_per_second,
        }


def train(
    spec: Spec,
    steps: int,
    *,
    backend: str = "jax",
    optimizer: str = "sgd",
    rule: str = "gradient",
    learning_rate: float | None = None,
    dtype: str | None = None,
    device: str = "auto",
    data_parallel: bool = False,
    record_every: int = 1,
    chunks: int = 1,
    params: Params | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> TrainResult:
    """Full-batch training for ``steps`` steps from ``params`` (default: the spec's).

    ``learning_rate``/``dtype`` default to the spec's. ``chunks`` splits the run into that many
    calls of one compiled program, calling ``on_progress(steps_done)`` after each.
    ``data_parallel`` shards the samples across every device of the chosen kind.
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
    if learning_rate is not None and not (math.isfinite(learning_rate) and learning_rate > 0):
        raise TrainError(f"learning_rate: must be a finite number > 0, got {learning_rate!r}")
    if rule == "sequential" and optimizer != "sgd":
        raise TrainError(f"rule 'sequential' is plain SGD; it cannot use optimizer {optimizer!r}")
    trained = _with_options(spec, dtype, learning_rate)
    start = trained.initial_params() if params is None else params
    start = [{k: np.asarray(a, dtype=trained.dtype) for k, a in g.items()} for g in start]
    if backend == "numpy":
        return _train_numpy(
            trained, steps, optimizer, rule, device, data_parallel, record_every, start
        )
    with jax.enable_x64(trained.dtype == np.float64):
        place = _placement(device, data_parallel, len(trained.model.samples))
        return _train_jax(
            trained, steps, optimizer, rule, place, record_every, chunks, start, on_progress
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


def _segments(steps: int, every: int, chunks: int) -> list[tuple[int, int]]:
    """``(records, steps per record)`` per compiled call: equal chunks of whole records, any
    leftover records, then one short record when ``every`` does not divide ``steps``."""
    full, rest = divmod(steps, every)
    per_chunk = max(1, math.ceil(full / chunks))
    segments = [(per_chunk, every)] * (full // per_chunk)
    if full % per_chunk:
        segments.append((full % per_chunk, every))
    if rest:
        segments.append((1, rest))
    return segments


def _train_jax(
    spec: Spec,
    steps: int,
    optimizer: str,
    rule: str,
    place: _Placement,
    record_every: int,
    chunks: int,
    start: Params,
    on_progress: Callable[[int], None] | None,
) -> TrainResult:
    net = _Net(spec.activations, spec.slopes, spec.loss)
    rep, batch = place.replicated, place.batch
    params = jax.device_put(start, rep)
    frozen = jax.device_put(spec.frozen_params(), rep)
    x, t = jax.device_put(spec.inputs(), batch), jax.device_put(spec.targets(), batch)
    lr = jax.device_put(np.asarray(spec.learning_rate, dtype=spec.dtype), rep)
    state = jax.device_put(_transform(optimizer, spec.learning_rate).init(params), rep)
    compile_s = run_s = 0.0
    history: list[Array] = []
    done = 0
    segments = _segments(steps, record_every, chunks) or [(0, 1)]  # 0 steps: outputs only
    for n_records, every in segments:
        key = ("loop", net, optimizer, rule, n_records, every, place.key)
        args = (params, state, frozen, x, t, lr)
        shardings = ((rep, rep, rep, batch, batch, rep), (rep,) * 5)
        program = _loop(net, optimizer, rule, n_records, every)
        run, seconds = _compiled(key, program, args, shardings)
        compile_s += seconds
        began = time.perf_counter()
        params, state, losses, outputs, loss = run(*args)
        history.append(np.array(losses))  # waits for the chunk to finish
        run_s += time.perf_counter() - began
        done += n_records * every
        if on_progress is not None:
            on_progress(done)
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
    """The hand-derived NumPy loop (:func:`gradcheck.backprop.train_numpy`) as a backend."""
    if optimizer != "sgd" or rule != "gradient":
        raise TrainError(
            f"backend 'numpy' runs plain SGD with rule 'gradient' only, "
            f"not optimizer {optimizer!r} with rule {rule!r}; use backend 'jax'"
        )
    if device == "gpu" or data_parallel:
        raise TrainError("backend 'numpy' runs on one CPU; drop device 'gpu' and data_parallel")
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
