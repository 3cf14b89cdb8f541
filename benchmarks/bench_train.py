"""How fast is the compiled training loop? Every number here is measured in this one run.

    python benchmarks/bench_train.py [--quick]

1. The sigmoid 2-2-2 seed network, 10000 SGD steps: the NumPy per-step loop
   (``backprop.train_numpy``), a torch eager loop (when torch is importable) and the compiled
   JAX loop (execution only, and the first call of a fresh process with tracing and compiling).
   Targets: JAX at least 250x faster than NumPy; the first call under 150 ms.
2. The persistent compilation cache: two fresh processes share a cache directory; the second
   should report XLA cache hits and no misses.
3. A 784-256-256-10 MLP on synthetic data (batch 256, float32): achieved GFLOP/s of training
   against this machine's measured matrix-multiply throughput for the same matrix sizes.
   Target: at least 60% of it.
4. The built-in conv net (``networks/conv_8x8.toml``), 1000 SGD steps: the NumPy loop against the
   compiled JAX loop (target: JAX at least 50x faster); then a wider synthetic conv net (batch 64,
   1x28x28 -> conv 16@5x5 relu -> max-pool 2 -> conv 32@3x3 relu -> avg-pool 2 -> flatten ->
   dense 10 softmax, float32): achieved GFLOP/s of its convolutions and matrix products during
   training against the throughput of the same convolutions and products run alone.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

import numpy as np

DEVICE = "cpu"  # --device: where the JAX loop runs (the NumPy loop is always on the CPU)

_FIRST_CALL = """
import json, sys, time
began = time.perf_counter()
from gradcheck.spec import builtin_networks_dir, load_spec
from gradcheck.training.runner import train
spec = load_spec(builtin_networks_dir() / "sigmoid_2_2_2.toml")
imported = time.perf_counter()
result = train(spec, 10000, device=sys.argv[1])
done = time.perf_counter()
print(json.dumps({"import_s": imported - began, "first_call_s": done - imported,
                  "compile_s": result.compile_seconds}))
"""

_CACHED_CALL = """
import json, sys, time
import jax
from gradcheck.spec import builtin_networks_dir, load_spec
from gradcheck.training.runner import enable_compilation_cache, train
events = {"hits": 0, "misses": 0}
def listen(name, **_):
    if name == "/jax/compilation_cache/cache_hits":
        events["hits"] += 1
    if name == "/jax/compilation_cache/cache_misses":
        events["misses"] += 1
jax.monitoring.register_event_listener(listen)
enable_compilation_cache(sys.argv[2])
spec = load_spec(builtin_networks_dir() / "sigmoid_2_2_2.toml")
began = time.perf_counter()
result = train(spec, 10000, device=sys.argv[1])
events["first_call_s"] = time.perf_counter() - began
events["compile_s"] = result.compile_seconds
print(json.dumps(events))
"""


def _fresh(code: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, check=True
    )
    parsed: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return parsed


def _median_seconds(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _torch_loop(steps: int) -> float | None:
    """Median seconds of a torch eager loop over the 2-2-2 seed network, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)

    def run() -> None:
        w1 = torch.tensor([[0.15, 0.20], [0.25, 0.30]], dtype=torch.float64, requires_grad=True)
        w2 = torch.tensor([[0.40, 0.45], [0.50, 0.55]], dtype=torch.float64, requires_grad=True)
        x = torch.tensor([[0.05, 0.10]], dtype=torch.float64)
        t = torch.tensor([[0.01, 0.99]], dtype=torch.float64)
        for _ in range(steps):
            out = torch.sigmoid(torch.sigmoid(x @ w1.T + 0.35) @ w2.T + 0.60)
            loss = 0.5 * ((t - out) ** 2).sum()
            g1, g2 = torch.autograd.grad(loss, (w1, w2))
            with torch.no_grad():
                w1 -= 0.5 * g1
                w2 -= 0.5 * g2

    return _median_seconds(run, 3)


def seed_network(steps: int, repeats: int) -> None:
    from gradcheck.hand import train_numpy
    from gradcheck.spec import builtin_networks_dir, load_spec
    from gradcheck.training.runner import train

    first = [_fresh(_FIRST_CALL, DEVICE) for _ in range(3)]
    spec = load_spec(builtin_networks_dir() / "sigmoid_2_2_2.toml")
    numpy_s = _median_seconds(lambda: train_numpy(spec, steps), 3)
    train(spec, steps, device=DEVICE)  # compile once
    jax_s = statistics.median(train(spec, steps, device=DEVICE).seconds for _ in range(repeats))
    jax_total_s = _median_seconds(lambda: train(spec, steps, device=DEVICE), repeats)
    torch_s = _torch_loop(steps)
    first_call = statistics.median(f["first_call_s"] for f in first)
    compile_s = statistics.median(f["compile_s"] for f in first)
    print(f"sigmoid 2-2-2, {steps} SGD steps (medians)")
    print(f"  numpy per-step loop        {numpy_s * 1e3:9.2f} ms")
    if torch_s is not None:
        print(f"  torch eager loop           {torch_s * 1e3:9.2f} ms")
    else:
        print("  torch eager loop                 (torch not importable)")
    print(f"  jax compiled scan (exec)   {jax_s * 1e3:9.3f} ms")
    print(f"  jax train() call, cached   {jax_total_s * 1e3:9.3f} ms")
    print(f"  jax first call, fresh proc {first_call * 1e3:9.1f} ms", end="")
    print(f" (of which trace+compile {compile_s * 1e3:.1f} ms)")
    ok = "ok" if numpy_s / jax_s >= 250 else "BELOW TARGET"
    print(f"  numpy / jax (execution)    {numpy_s / jax_s:9.0f}x   target >= 250x: {ok}")
    if torch_s is not None:
        print(f"  torch / jax (execution)    {torch_s / jax_s:9.0f}x")
    ok = "ok" if first_call < 0.150 else "ABOVE TARGET"
    print(f"  first call                 {first_call * 1e3:9.1f} ms  target < 150 ms: {ok}")


def compilation_cache() -> None:
    with tempfile.TemporaryDirectory() as cache:
        cold = _fresh(_CACHED_CALL, DEVICE, cache)
        warm = _fresh(_CACHED_CALL, DEVICE, cache)
    print("persistent compilation cache, two fresh processes")
    for name, run in (("first ", cold), ("second", warm)):
        print(
            f"  {name} process: XLA cache hits {run['hits']}, misses {run['misses']}, "
            f"trace+compile {run['compile_s'] * 1e3:.1f} ms, "
            f"first call {run['first_call_s'] * 1e3:.1f} ms"
        )
    ok = "ok" if warm["misses"] == 0 and warm["hits"] > 0 else "RECOMPILED"
    print(f"  second process pays no XLA compile: {ok}")


def _mlp_spec(batch: int) -> Any:
    from gradcheck.spec import parse_spec

    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(batch, 784)).round(3)
    labels = rng.integers(0, 10, size=batch)
    layers = [
        {
            "size": n,
            "activation": a,
            "init": {"rule": "he", "seed": i},
            "bias": {"mode": "per_neuron"},
        }
        for i, (n, a) in enumerate(((256, "relu"), (256, "relu"), (10, "softmax")))
    ]
    return parse_spec(
        {
            "name": "mlp-784-256-256-10",
            "dtype": "float32",
            "loss": "softmax_cross_entropy",
            "optimizer": {"learning_rate": 0.01},
            "input": {"size": 784},
            "layers": layers,
            "samples": [
                {"input": list(x), "target": list(np.eye(10)[y])}
                for x, y in zip(inputs, labels, strict=True)
            ],
        },
        "<synthetic mlp>",
    )


def _gemms(batch: int, sizes: tuple[int, ...]) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one training step: forward x @ W.T, then per layer
    dW = delta.T @ out_below and, above the first layer, delta @ W for the layer below."""
    pairs = list(itertools.pairwise(sizes))
    shapes = [(batch, n_in, n_out) for n_in, n_out in pairs]
    shapes += [(n_out, batch, n_in) for n_in, n_out in pairs]
    shapes += [(batch, n_out, n_in) for n_in, n_out in pairs[1:]]
    return shapes


def _matmul_seconds(m: int, k: int, n: int, repeats: int) -> float:
    """Seconds per (m,k) @ (k,n) float32 product, from a compiled loop of back-to-back products."""
    import jax
    import jax.numpy as jnp

    a = jnp.asarray(np.random.default_rng(1).normal(size=(m, k)), dtype=jnp.float32)
    b = jnp.asarray(np.random.default_rng(2).normal(size=(k, n)), dtype=jnp.float32)

    @jax.jit
    def loop(a: jax.Array, b: jax.Array) -> jax.Array:
        def body(acc: jax.Array, _: None) -> tuple[jax.Array, None]:
            return acc + (a + acc[0, 0] * 0) @ b, None  # carried, so no product is hoisted

        return jax.lax.scan(body, jnp.zeros((m, n), jnp.float32), None, length=repeats)[0]

    loop(a, b).block_until_ready()
    return _median_seconds(lambda: loop(a, b).block_until_ready(), 5) / repeats


def mlp(steps: int) -> None:
    from gradcheck.training.runner import train

    batch, sizes = 256, (784, 256, 256, 10)
    spec = _mlp_spec(batch)
    flops = sum(2 * m * k * n for m, k, n in _gemms(batch, sizes))
    train(spec, steps, device=DEVICE, record_every=steps)  # compile once
    seconds = statistics.median(
        train(spec, steps, device=DEVICE, record_every=steps).seconds for _ in range(3)
    )
    achieved = flops * steps / seconds / 1e9
    peak_s = sum(_matmul_seconds(m, k, n, 50) for m, k, n in _gemms(batch, sizes))
    peak = flops / peak_s / 1e9
    print(f"MLP 784-256-256-10, batch {batch}, float32, {steps} steps (softmax cross-entropy)")
    per_step_ms = seconds / steps * 1e3
    print(f"  {flops / 1e6:.1f} MFLOP of matrix products per step, {per_step_ms:.2f} ms each")
    print(f"  training achieves          {achieved:9.1f} GFLOP/s")
    print(f"  matmul peak, same sizes    {peak:9.1f} GFLOP/s (each product alone, back to back)")
    ok = "ok" if achieved >= 0.6 * peak else "BELOW TARGET"
    print(f"  fraction of peak           {achieved / peak:9.0%}   target >= 60%: {ok}")


def _conv_spec(batch: int) -> Any:
    from gradcheck.spec import parse_spec

    rng = np.random.default_rng(0)
    conv = {"kind": "conv2d", "activation": "relu", "bias": {"mode": "per_neuron"}}
    layers = [
        {**conv, "channels": 16, "kernel": 5, "init": {"rule": "he", "seed": 0}},
        {"kind": "max_pool2d", "kernel": 2},
        {**conv, "channels": 32, "kernel": 3, "init": {"rule": "he", "seed": 1}},
        {"kind": "avg_pool2d", "kernel": 2},
        {"kind": "flatten"},
        {"size": 10, "activation": "softmax", "init": {"rule": "xavier", "seed": 2}},
    ]
    return parse_spec(
        {
            "name": "conv-1x28x28",
            "dtype": "float32",
            "loss": "softmax_cross_entropy",
            "optimizer": {"learning_rate": 0.01},
            "input": {"shape": [1, 28, 28]},
            "layers": layers,
            "samples": [
                {"input": list(rng.normal(size=784).round(3)), "target": list(np.eye(10)[k % 10])}
                for k in range(batch)
            ],
        },
        "<synthetic conv net>",
    )


# (N, C, H, W, F, k): each convolution of the synthetic conv net, stride 1, no padding
_CONVS = ((64, 1, 28, 28, 16, 5), (64, 16, 12, 12, 32, 3))


def _conv_flops() -> tuple[int, int]:
    """(FLOPs of one training step's convolutions and products, of the forward convolutions):
    per conv 2 N F C k^2 OH OW for its forward, its weight gradient and (above the first) its
    input gradient; the dense head's three products as for the MLP."""
    forward = sum(2 * n * f * c * k * k * (h - k + 1) * (w - k + 1) for n, c, h, w, f, k in _CONVS)
    first = 2 * 64 * 16 * 1 * 25 * 24 * 24
    dense = sum(2 * m * k * n for m, k, n in _gemms(64, (32 * 5 * 5, 10)))
    return 3 * forward - first + dense, forward


def _convs_alone_seconds(repeats: int) -> float:
    """Seconds of one step's convolutions and products run alone: each forward convolution
    timed back to back in a compiled loop, counted 3x (forward, weight and input gradient have
    the same FLOPs) less the first layer's input gradient, plus the dense head's products."""
    import jax
    import jax.numpy as jnp

    total = 0.0
    for i, (n, c, h, w, f, k) in enumerate(_CONVS):
        x = jnp.asarray(np.random.default_rng(1).normal(size=(n, c, h, w)), dtype=jnp.float32)
        kern = jnp.asarray(np.random.default_rng(2).normal(size=(f, c, k, k)), dtype=jnp.float32)

        @jax.jit
        def loop(x: jax.Array, kern: jax.Array) -> jax.Array:
            def body(acc: jax.Array, _: None) -> tuple[jax.Array, None]:
                out = jax.lax.conv_general_dilated(x + acc * 0, kern, (1, 1), "VALID")
                return acc + out[0, 0, 0, 0], None

            return jax.lax.scan(body, jnp.zeros((), jnp.float32), None, length=repeats)[0]

        loop(x, kern).block_until_ready()
        run = lambda f=loop, a=x, k=kern: f(a, k).block_until_ready()  # noqa: E731
        each = _median_seconds(run, 5) / repeats
        total += each * (2 if i == 0 else 3)
    return total + sum(_matmul_seconds(m, k, n, 50) for m, k, n in _gemms(64, (800, 10)))


def conv(steps: int) -> None:
    from gradcheck.hand import train_numpy
    from gradcheck.spec import builtin_networks_dir, load_spec
    from gradcheck.training.runner import train

    spec = load_spec(builtin_networks_dir() / "conv_8x8.toml")
    numpy_s = _median_seconds(lambda: train_numpy(spec, steps), 3)
    train(spec, steps, device=DEVICE)  # compile once
    jax_s = statistics.median(train(spec, steps, device=DEVICE).seconds for _ in range(5))
    print(f"built-in conv net {spec.name}, {spec.n_params} parameters, {steps} SGD steps")
    print(f"  numpy per-step loop        {numpy_s * 1e3:9.2f} ms")
    print(f"  jax compiled scan (exec)   {jax_s * 1e3:9.3f} ms")
    ok = "ok" if numpy_s / jax_s >= 50 else "BELOW TARGET"
    print(f"  numpy / jax (execution)    {numpy_s / jax_s:9.0f}x   target >= 50x: {ok}")

    wide, wide_steps = _conv_spec(64), max(steps // 50, 5)
    flops, _ = _conv_flops()
    train(wide, wide_steps, device=DEVICE, record_every=wide_steps)  # compile once
    seconds = statistics.median(
        train(wide, wide_steps, device=DEVICE, record_every=wide_steps).seconds for _ in range(3)
    )
    achieved = flops * wide_steps / seconds / 1e9
    alone = flops / _convs_alone_seconds(20) / 1e9
    print(f"synthetic conv net 1x28x28 (batch 64, float32), {wide_steps} steps")
    print(f"  {flops / 1e6:.1f} MFLOP of convolutions and products per step")
    print(f"  training achieves          {achieved:9.1f} GFLOP/s")
    print(f"  same convolutions alone    {alone:9.1f} GFLOP/s (each back to back)")
    print(f"  fraction of that           {achieved / alone:9.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats and MLP steps")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu", help="JAX device")
    args = parser.parse_args()
    global DEVICE
    DEVICE = args.device
    print(f"JAX device: {DEVICE}")
    seed_network(10000, 5 if args.quick else 20)
    compilation_cache()
    mlp(20 if args.quick else 100)
    conv(200 if args.quick else 1000)


if __name__ == "__main__":
    main()
