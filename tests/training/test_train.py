"""gradcheck.training.runner: the compiled JAX loop against the hand-derived NumPy loop (seeds, a
table of networks, generated networks, float32), compile once per shape, frozen and shared groups,
the output-first rule and the seed document's 10000-step outputs, optax optimizers, data-parallel
sharding on several host devices, the persistent compilation cache, runs in calls sized from
measured time, and the ``train`` command with its progress and Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, assert_params_close, builtin_names, make_spec, seed_path, seed_spec
from hypothesis import given, settings

from gradcheck.cli import train_command
from gradcheck.generate.strategies import Case, networks
from gradcheck.golden.judging import output_first_grads
from gradcheck.hand import forward, hand_grads, train_numpy
from gradcheck.spec import (
    GradcheckError,
    Params,
    Spec,
    builtin_networks_dir,
    load_spec,
)
from gradcheck.training import calls as call_plan
from gradcheck.training.runner import (
    BACKENDS,
    DEVICES,
    OPTIMIZERS,
    RULES,
    DeviceError,
    trace_count,
    train,
)

# Where the JAX loop runs: the CPU by default and in CI; GRADCHECK_TEST_DEVICE=gpu on a GPU machine.
DEVICE = os.environ.get("GRADCHECK_TEST_DEVICE", "cpu")

# Agreement of two float implementations after N steps: each step rounds differently
# (fused multiply-adds, summation order), and the differences compound over steps.
TOLERANCE = {"float64": (1e-9, 1e-12), "float32": (2e-4, 1e-5)}  # (rtol, atol)


def _network(
    layers: list[dict[str, Any]],
    *,
    n_in: int = 3,
    loss: str = "half_sse",
    dtype: str = "float64",
    lr: float = 0.1,
    batch: int = 4,
) -> Spec:
    """A spec from layer tables; samples drawn from a fixed generator."""
    rng = np.random.default_rng(7)
    n_out = layers[-1]["size"]
    if loss == "softmax_cross_entropy":
        targets = np.eye(n_out)[rng.integers(0, n_out, size=batch)]
    else:
        targets = rng.uniform(0.1, 0.9, size=(batch, n_out))
    inputs = [rng.uniform(-1.0, 1.0, size=n_in) for _ in targets]
    return make_spec(
        layers, inputs, targets, name="table", loss=loss, dtype=dtype, learning_rate=lr
    )


def _layer(size: int, activation: str, seed: int, **extra: Any) -> dict[str, Any]:
    return {
        "size": size,
        "activation": activation,
        "init": {"rule": "xavier", "seed": seed},
        **extra,
    }


def _assert_params_close(got: Params, want: Params, dtype: str) -> None:
    assert_params_close(got, want, *TOLERANCE[dtype])


def _assert_matches_numpy(spec: Spec, steps: int) -> None:
    result = train(spec, steps, device=DEVICE)
    params, history = train_numpy(spec, steps)
    dtype = spec.model.dtype
    _assert_params_close(result.params, params, dtype)
    rtol, atol = TOLERANCE[dtype]
    np.testing.assert_allclose(result.loss_history, history, rtol=rtol, atol=atol)
    assert result.loss_history.dtype == np.dtype(dtype)


# -- equivalence with the hand-derived NumPy loop ---------------------------------------------
@pytest.mark.parametrize("name", builtin_names())
def test_jax_loop_gives_the_numpy_loops_params_on_the_builtin_networks(name: str) -> None:
    _assert_matches_numpy(seed_spec(name), 1000)


TABLE = {
    "tanh-relu-per-neuron-bias": _network(
        [
            _layer(4, "tanh", 1, bias={"mode": "per_neuron", "value": 0.1}),
            _layer(3, "relu", 2, bias={"mode": "per_neuron", "value": 0.2}),
            _layer(2, "identity", 3),
        ]
    ),
    "leaky-relu-softplus-mse-shared-bias": _network(
        [
            _layer(5, "leaky_relu", 4, slope=0.05, bias={"mode": "shared", "value": 0.3}),
            _layer(2, "softplus", 5, bias={"mode": "shared", "value": -0.2}),
        ],
        loss="mse",
    ),
    "softmax-cross-entropy": _network(
        [_layer(4, "sigmoid", 6), _layer(3, "softmax", 7, bias={"mode": "per_neuron"})],
        loss="softmax_cross_entropy",
        lr=0.5,
    ),
    "frozen-weights-and-frozen-bias": _network(
        [
            _layer(3, "tanh", 8, trainable=False, bias={"mode": "per_neuron", "value": 0.1}),
            _layer(2, "sigmoid", 9, bias={"mode": "shared", "value": 0.5, "trainable": False}),
        ]
    ),
    "float32-sigmoid-tanh": _network(
        [
            _layer(4, "sigmoid", 10, bias={"mode": "per_neuron", "value": 0.1}),
            _layer(2, "tanh", 11, bias={"mode": "shared", "value": 0.2}),
        ],
        dtype="float32",
    ),
}


@pytest.mark.parametrize("name", list(TABLE))
def test_jax_loop_gives_the_numpy_loops_params_across_activations_biases_and_frozen_groups(
    name: str,
) -> None:
    _assert_matches_numpy(TABLE[name], 100)


@settings(max_examples=8)
@given(
    networks(
        activations=("identity", "sigmoid", "tanh", "softplus"),
        dtypes=("float64", "float32"),
        weight_scale=(0.1, 1.0),
        weight_decay=0.0,  # test_weight_decay_training.py trains with one
        # dense: drawn with every kind, two correct 20-step loops of an ill-conditioned network
        # (a norm of nearly equal values, a max-pool near a tie) drift past the fixed tolerance
        # (float64: 4e-9 relative; float32 with a layer_norm: 2e-3); the other kinds train
        # step for step in their own tests (tests/training/test_training_*.py)
        kinds=("dense",),
    )
)
def test_jax_loop_gives_the_numpy_loops_params_on_generated_networks(case: Case) -> None:
    _assert_matches_numpy(case.spec, 20)


def test_float32_training_stays_float32_and_float64_override_changes_it() -> None:
    spec = TABLE["float32-sigmoid-tanh"]
    single = train(spec, 5, device=DEVICE)
    double = train(spec, 5, device=DEVICE, dtype="float64")
    assert {a.dtype for g in single.params for a in g.values()} == {np.dtype(np.float32)}
    assert {a.dtype for g in double.params for a in g.values()} == {np.dtype(np.float64)}
    assert single.outputs.dtype == np.float32 and double.spec.model.dtype == "float64"
    _assert_params_close(single.params, double.params, "float32")


# -- compiled once per shape ------------------------------------------------------------------
def test_a_second_run_of_the_same_shape_does_not_retrace(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    train(spec, 300, device=DEVICE)
    before = trace_count()
    again = train(spec, 300, device=DEVICE)
    other_values = train(spec, 300, device=DEVICE, learning_rate=0.25, params=again.params)
    assert trace_count() == before
    assert other_values.loss < again.loss  # it did train, from the new starting point
    train(spec, 301, device=DEVICE)  # another step count is another program
    assert trace_count() > before


def test_chunked_run_equals_one_scan_and_reports_progress_per_chunk() -> None:
    spec = TABLE["tanh-relu-per-neuron-bias"]
    whole = train(spec, 53, device=DEVICE, record_every=3)
    seen: list[int] = []
    before = trace_count()
    chunked = train(spec, 53, device=DEVICE, record_every=3, chunks=4, on_progress=seen.append)
    # 17 whole records in chunks of 5 (one program), a leftover 2 (another), then the last
    # short record of 2 steps (a third, which the unchunked run compiled already)
    assert seen == [15, 30, 45, 51, 53]
    assert trace_count() - before == 2
    assert len(chunked.loss_history) == len(whole.loss_history) == 18
    np.testing.assert_allclose(chunked.loss_history, whole.loss_history, rtol=1e-12)
    _assert_params_close(chunked.params, whole.params, "float64")


def test_zero_steps_returns_the_starting_params_outputs_and_loss(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    result = train(spec, 0, device=DEVICE)
    _assert_params_close(result.params, spec.initial_params(), "float64")
    assert result.loss_history.shape == (0,)
    assert result.loss == pytest.approx(0.298371109, abs=5e-10)  # seed 001's total error


# -- frozen and shared groups -----------------------------------------------------------------
def test_frozen_groups_stay_out_of_training_and_fixed_in_the_outputs() -> None:
    spec = TABLE["frozen-weights-and-frozen-bias"]
    result = train(spec, 50, device=DEVICE)
    assert [sorted(g) for g in result.params] == [["b"], ["W"]]
    trained_out = forward(spec, result.params, spec.inputs()).outs[-1]  # spec's frozen values
    np.testing.assert_allclose(result.outputs, trained_out, rtol=1e-12)
    assert result.loss < train(spec, 0, device=DEVICE).loss


def test_shared_bias_stays_one_trained_scalar() -> None:
    spec = TABLE["leaky-relu-softplus-mse-shared-bias"]
    result = train(spec, 50, device=DEVICE)
    for start, end in zip(spec.initial_params(), result.params, strict=True):
        assert end["b"].shape == ()
        assert end["b"] != start["b"]


# -- the output-first rule and the seed document ------------------------------------------------
def _numpy_output_first(spec: Spec, steps: int) -> Params:
    """Reference for the output-first rule: the NumPy loop with golden's output-first gradients
    (top layer first, each delta sent down through the *updated* weights above it)."""
    return train_numpy(spec, steps, grad_fn=output_first_grads)[0]


def test_output_first_rule_reproduces_the_seed_documents_10000_step_outputs(
    sigmoid_seed: Spec,
) -> None:
    spec = sigmoid_seed
    output_first = train(spec, 10000, device=DEVICE, rule="output-first")
    gradient = train(spec, 10000, device=DEVICE)
    # As printed in seed 001 after 10000 steps: o1 = 0.015912196, o2 = 0.984065734.
    assert [f"{v:.9f}" for v in output_first.outputs[0]] == ["0.015912196", "0.984065734"]
    # True gradient descent lands elsewhere in the 6th significant digit.
    assert [f"{v:.8f}" for v in gradient.outputs[0]] == ["0.01591362", "0.98406427"]
    _assert_params_close(output_first.params, _numpy_output_first(spec, 10000), "float64")


def test_output_first_rule_matches_its_numpy_reference_on_a_deeper_network() -> None:
    spec = TABLE["tanh-relu-per-neuron-bias"]
    output_first = train(spec, 100, device=DEVICE, rule="output-first")
    _assert_params_close(output_first.params, _numpy_output_first(spec, 100), "float64")
    gradient = train(spec, 100, device=DEVICE)
    differs = max(
        float(np.abs(a - b).max())
        for a, b in zip(
            (v for g in output_first.params for v in g.values()),
            (v for g in gradient.params for v in g.values()),
            strict=True,
        )
    )
    assert differs > 1e-6  # the two rules are different rules here


# -- optax optimizers -------------------------------------------------------------------------
@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_momentum_and_adam_reduce_the_loss(optimizer: str) -> None:
    spec = TABLE["softmax-cross-entropy"]
    result = train(spec, 200, device=DEVICE, optimizer=optimizer, learning_rate=0.05)
    assert np.all(np.isfinite(result.loss_history))
    assert result.loss < 0.5 * result.loss_history[0]


def test_adams_first_step_is_minus_lr_times_the_sign_of_the_gradient(sigmoid_seed: Spec) -> None:
    spec = sigmoid_seed
    lr = 0.01
    result = train(spec, 1, device=DEVICE, optimizer="adam", learning_rate=lr)
    start = spec.initial_params()
    grads = hand_grads(spec, start, spec.inputs(), spec.targets())
    for g, p0, p1 in zip(grads, start, result.params, strict=True):
        # m_hat = g, v_hat = g^2, so the step is -lr g / (|g| + eps) with eps = 1e-8
        step = p1["W"] - p0["W"]
        np.testing.assert_allclose(step, -lr * np.sign(g["W"]), rtol=1e-8 / np.abs(g["W"]).min())


def test_momentums_second_step_adds_0_9_of_the_first(linear_seed: Spec) -> None:
    spec = linear_seed
    lr = spec.learning_rate
    x, t = spec.inputs(), spec.targets()
    p0 = spec.initial_params()
    g0 = hand_grads(spec, p0, x, t)
    p1 = [{k: p[k] - lr * g[k] for k in p} for p, g in zip(p0, g0, strict=True)]
    g1 = hand_grads(spec, p1, x, t)
    want = [
        {k: q[k] - lr * (g[k] + 0.9 * h[k]) for k in q} for q, g, h in zip(p1, g1, g0, strict=True)
    ]
    got = train(spec, 2, device=DEVICE, optimizer="momentum").params
    _assert_params_close(got, want, "float64")


# -- options and devices ----------------------------------------------------------------------
BAD_OPTIONS = [
    ({"optimizer": "rmsprop"}, "optimizer 'rmsprop': must be one of sgd, momentum, adam"),
    ({"rule": "backwards"}, "rule 'backwards': must be one of gradient-descent, output-first"),
    ({"backend": "torch"}, "backend 'torch': must be one of jax, numpy"),
    ({"dtype": "float16"}, "dtype 'float16': must be one of float64, float32"),
    ({"device": "tpu"}, "device 'tpu': must be one of cpu, gpu, auto"),
    ({"steps": -1}, "steps: must be at least 0, got -1"),
    ({"record_every": 0}, "record_every: must be at least 1, got 0"),
    ({"chunks": 0}, "chunks: must be at least 1, got 0"),
    ({"learning_rate": float("nan")}, "learning_rate: must be a finite number > 0, got nan"),
    ({"rule": "output-first", "optimizer": "adam"}, "rule 'output-first' is plain SGD"),
    ({"backend": "numpy", "optimizer": "adam"}, "backend 'numpy' runs plain SGD"),
    (
        {"backend": "numpy", "data_parallel": True},
        "backend 'numpy' runs on one CPU, not with data_parallel",
    ),
    ({"data_parallel": True, "device": "cpu"}, None),  # 1 sample always splits over 1 device
]


@pytest.mark.parametrize(("options", "message"), BAD_OPTIONS)
def test_bad_training_options_raise_one_line_naming_the_option(
    options: dict[str, Any], message: str | None, linear_seed: Spec
) -> None:
    spec = linear_seed
    kwargs = {"steps": 2, **options}
    steps = kwargs.pop("steps")
    if message is None:
        assert train(spec, steps, **kwargs).n_devices == 1
        return
    with pytest.raises(GradcheckError) as err:
        train(spec, steps, **kwargs)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def _has_gpu() -> bool:
    import jax

    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


@pytest.mark.skipif(_has_gpu(), reason="needs a machine where JAX sees no GPU")
def test_asking_for_a_gpu_without_one_is_a_device_error(linear_seed: Spec) -> None:
    with pytest.raises(DeviceError, match="JAX sees no GPU here"):
        train(linear_seed, 1, device="gpu")
    assert train(linear_seed, 1, device="auto").device == "cpu:0"


def _python(code: str, **env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parsed: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return parsed


def test_data_parallel_over_four_host_devices_equals_one_device() -> None:
    code = """
        import json, numpy as np
        from gradcheck.spec import parse_spec
        from gradcheck.training.runner import TrainError, train
        rng = np.random.default_rng(0)
        spec = parse_spec({
            "name": "dp", "loss": "mse", "optimizer": {"learning_rate": 0.2},
            "input": {"size": 3},
            "layers": [
                {"size": 5, "activation": "tanh", "init": {"rule": "xavier", "seed": 1},
                 "bias": {"mode": "per_neuron", "value": 0.1}},
                {"size": 2, "activation": "sigmoid", "init": {"rule": "xavier", "seed": 2},
                 "bias": {"mode": "shared", "value": 0.1}}],
            "samples": [{"input": list(rng.normal(size=3)), "target": list(rng.uniform(size=2))}
                        for _ in range(8)]})
        one = train(spec, 100, device="cpu")
        four = train(spec, 100, device="cpu", data_parallel=True)
        diff = max(float(np.max(np.abs(a[k] - b[k])))
                   for a, b in zip(one.params, four.params) for k in a)
        data = spec.model.model_dump()
        uneven = parse_spec({**data, "samples": data["samples"][:3]})
        try:
            train(uneven, 1, device="cpu", data_parallel=True)
            error = None
        except TrainError as exc:
            error = str(exc)
        print(json.dumps({"n": four.n_devices, "device": four.device, "diff": diff,
                          "loss_diff": abs(one.loss - four.loss), "loss": one.loss,
                          "shared_shape": list(four.params[1]["b"].shape), "error": error}))
    """
    got = _python(code, XLA_FLAGS="--xla_force_host_platform_device_count=4")
    assert got["n"] == 4 and got["device"] == "cpu x4 (data-parallel)"
    assert got["diff"] < 1e-12 and got["loss_diff"] < 1e-14 and got["loss"] < 0.2
    assert got["shared_shape"] == []
    assert got["error"].startswith("data_parallel: a batch of 3 samples does not split evenly")


def test_importing_changes_no_jax_setting_and_the_cache_spares_a_second_process_xla(
    tmp_path: Any,
) -> None:
    code = """
        import json, os, jax
        import gradcheck.training.runner as t
        from gradcheck.spec import builtin_networks_dir, load_spec
        untouched = (not jax.config.jax_enable_x64) and jax.config.jax_compilation_cache_dir is None
        events = {"hits": 0, "misses": 0}
        def listen(name, **_):
            for kind in ("hits", "misses"):
                if name == "/jax/compilation_cache/cache_" + kind:
                    events[kind] += 1
        jax.monitoring.register_event_listener(listen)
        t.enable_compilation_cache(os.environ["GRADCHECK_TEST_CACHE"])
        t.train(load_spec(builtin_networks_dir() / "sigmoid_2_2_2.toml"), 50, device="cpu")
        print(json.dumps({"untouched": untouched, **events}))
    """
    first = _python(code, GRADCHECK_TEST_CACHE=str(tmp_path))
    second = _python(code, GRADCHECK_TEST_CACHE=str(tmp_path))
    assert first["untouched"] and first["misses"] >= 1
    assert second["misses"] == 0 and second["hits"] >= 1


# -- results and the command line -------------------------------------------------------------
def test_to_dict_is_json_with_params_by_display_name(sigmoid_seed: Spec) -> None:
    result = train(sigmoid_seed, 20, device=DEVICE, record_every=5)
    record = json.loads(json.dumps(result.to_dict()))
    assert sorted(record["params"]) == ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8"]
    assert record["params"]["w5"] == float(result.params[1]["W"][0, 0])
    assert len(record["loss_history"]) == 4 and record["loss_history_every"] == 5
    assert record["outputs"] == result.outputs.tolist() and record["steps"] == 20


def test_unnamed_params_are_labelled_by_layer_and_index() -> None:
    names = train(TABLE["leaky-relu-softplus-mse-shared-bias"], 1, device=DEVICE).named_params()
    assert (
        "layer 1 W[4,2]" in names and "layer 2 b" in names and len(names) == 5 * 3 + 1 + 2 * 5 + 1
    )


def test_cli_choices_are_trains_choices() -> None:
    assert set(train_command._TRAIN_CHOICES["backend"]) == set(BACKENDS)
    assert set(train_command._TRAIN_CHOICES["device"]) == set(DEVICES)
    assert set(train_command._TRAIN_CHOICES["optimizer"]) == set(OPTIMIZERS)
    assert set(train_command._TRAIN_CHOICES["rule"]) == set(RULES)


def test_train_command_json_has_loss_outputs_params_and_history(
    run_cli: RunCli,
) -> None:
    seed = str(seed_path("sigmoid-2-2-2"))
    status, out, _ = run_cli(["train", seed, "--steps", "1000", "--json", "--no-cache"])
    record = json.loads(out)
    assert status == 0
    for key in ("loss", "outputs", "params", "steps", "backend", "device", "loss_history"):
        assert key in record, key
    assert record["steps"] == 1000 and record["backend"] == "jax" and len(record["outputs"]) == 1
    assert len(record["loss_history"]) == 500 and record["loss"] < record["loss_history"][0]


def test_train_command_prints_loss_outputs_and_speed(run_cli: RunCli) -> None:
    seed = str(seed_path("sigmoid-2-2-2"))
    args = ["train", seed, "--steps", "10000", "--rule", "output-first", "--no-cache"]
    status, out, _ = run_cli(args)
    assert status == 0
    assert "sample 1: o1 = 0.015912196, o2 = 0.984065734" in out
    assert "final loss (half_sse):" in out and "steps/s" in out


@pytest.mark.skipif(_has_gpu(), reason="needs a machine where JAX sees no GPU")
def test_train_command_on_a_missing_gpu_exits_2_with_one_line(
    run_cli: RunCli,
) -> None:
    seed = str(seed_path("linear-2-2-1"))
    status, out, err = run_cli(["train", seed, "--steps", "5", "--device", "gpu"])
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(
        "gradcheck: error: device 'gpu': JAX sees no GPU"
    )


def test_train_command_rejects_an_option_the_backend_cannot_run(
    run_cli: RunCli,
) -> None:
    seed = str(seed_path("linear-2-2-1"))
    args = ["train", seed, "--steps", "5", "--backend", "numpy", "--optimizer", "adam"]
    status, _, err = run_cli(args)
    assert status == 2 and err.count("\n") == 1 and "backend 'numpy' runs plain SGD" in err


def test_cheap_runs_skip_xla_backend_optimisation_and_big_ones_keep_it(sigmoid_seed: Spec) -> None:
    """Compile time dominates a seed-sized run, so only there is optimisation traded away."""
    from gradcheck.training.runner import _compiler_options

    seed = sigmoid_seed
    assert _compiler_options(seed, 10_000) == {"xla_backend_optimization_level": 0}
    assert _compiler_options(seed, 10_000_000) == {}
    conv = load_spec(builtin_networks_dir() / "conv_8x8.toml")  # convolutions need optimising
    assert conv.multiply_adds > 6 * conv.n_params  # each weight used once per output position
    assert _compiler_options(conv, 10) == {}


# -- timed calls, progress and Ctrl-C ----------------------------------------------------------
def _timed_plan(steps: int, every: int, first: int, step_seconds: float) -> list[tuple[int, ...]]:
    """The calls a timed run of 0.2 s calls makes when each step takes ``step_seconds``."""
    plan = call_plan.timed_calls(steps, every, 0.2, first)
    calls = [next(plan)]
    while True:
        try:
            calls.append(plan.send(calls[-1][0] * calls[-1][1] * step_seconds))
        except StopIteration:
            return calls


@pytest.mark.parametrize(
    ("steps", "every", "first", "step_seconds"),
    [(10**9, 2 * 10**6, 125_000, 1e-7), (10**6, 1, 10, 1e-6), (12_345, 100, 1, 1e-3)],
)
def test_timed_calls_take_about_the_time_asked_and_keep_one_loss_per_record(
    steps: int, every: int, first: int, step_seconds: float
) -> None:
    calls = _timed_plan(steps, every, first, step_seconds)
    assert calls[0][0] * calls[0][1] <= first
    assert sum(n * k for n, k, _ in calls) == steps
    assert sum(n for n, _, keep in calls if keep) == -(-steps // every)  # one loss per record
    assert all(n * k * step_seconds <= 0.2 + 1e-9 for n, k, _ in calls)
    assert all(n <= call_plan.CALL_RECORDS for n, _, _ in calls)
    if steps * step_seconds > 10:  # a long run: past the first calls, about 0.2 s each
        assert np.median([n * k * step_seconds for n, k, _ in calls]) > 0.05


def test_timed_run_equals_one_scan_in_one_program_and_reports_progress_per_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(call_plan, "FIRST_CALL_WORK", 1)  # a first call of one step
    spec = TABLE["tanh-relu-per-neuron-bias"]
    whole = train(spec, 3000, device=DEVICE, record_every=7)
    seen: list[int] = []
    before = trace_count()
    timed = train(
        spec, 3000, device=DEVICE, record_every=7, chunk_seconds=1e-4, on_progress=seen.append
    )
    assert trace_count() - before <= 1  # one program whatever the call sizes (0: compiled before)
    assert len(seen) > 3 and seen[0] == 1 and seen == sorted(seen) and seen[-1] == 3000
    assert len(timed.loss_history) == len(whole.loss_history) == 429
    np.testing.assert_allclose(timed.loss_history, whole.loss_history, rtol=1e-12)
    _assert_params_close(timed.params, whole.params, "float64")
    assert timed.loss == pytest.approx(whole.loss, rel=1e-12)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"chunk_seconds": 0.0}, "chunk_seconds: must be a finite number > 0, got 0.0"),
        ({"chunk_seconds": 0.1, "chunks": 2}, "chunks and chunk_seconds: give one or the other"),
    ],
)
def test_bad_chunk_seconds_raise_one_line(
    options: dict[str, Any], message: str, linear_seed: Spec
) -> None:
    with pytest.raises(GradcheckError, match=message):
        train(linear_seed, 2, **options)


PROGRESS_LINE = re.compile(
    r"gradcheck: train: (\d+) of 1000000000 steps, about \d+(\.\d)? (s|min|h) left"
)


# Runs the command with SIGINT delivered and handled as in a shell, whatever the test runner's
# process had: an ignored or blocked SIGINT is inherited across exec (two clean-clone suite runs
# saw the command train on for 10 s after the signal). A first interpreter resets it and execs
# the command (no preexec_fn: forking a process that runs JAX's threads may deadlock).
_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)


def test_train_command_stops_on_sigint_within_a_second_with_status_130() -> None:
    """A JAX run goes in calls of about 0.2 s, so SIGINT ends it between two: status 130, one
    line, nothing on stdout; off a terminal it first printed a progress line with an estimate."""
    seed = str(seed_path("sigmoid-2-2-2"))
    command = [sys.executable, "-c", _WITH_DEFAULT_SIGINT, "-m", "gradcheck", "train", seed]
    proc = subprocess.Popen(
        [*command, "--steps", "1000000000", "--json", "--no-cache"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        first = proc.stderr.readline() if proc.stderr else ""  # after 1 s of training
        shown = PROGRESS_LINE.fullmatch(first.rstrip("\n"))
        assert shown, first
        time.sleep(0.3)  # so that the signal comes mid-call, not just after a line
        signalled = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - signalled
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 130 and took < 3, (proc.returncode, took, err)
    assert out == "" and "Traceback" not in err and len(err.splitlines()) == 1, err
    stopped = re.fullmatch(r"gradcheck: train: interrupted after (\d+) of 1000000000 steps\n", err)
    assert stopped and int(stopped[1]) >= int(shown[1])


def test_progress_is_quiet_for_a_second_then_a_line_every_five_seconds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = [100.0]
    monkeypatch.setattr(train_command.time, "monotonic", lambda: clock[0])
    progress = train_command._Progress("net", 1_000_000, terminal=False)
    for now, done in [
        (100.0, 1000),
        (100.5, 51_000),
        (101.0, 101_000),
        (103.0, 301_000),
        (106.0, 601_000),
        (106.5, 651_000),
        (140.0, 1_000_000),
    ]:
        clock[0] = now
        progress(done)
    assert capsys.readouterr().err.splitlines() == [
        "gradcheck: train: 101000 of 1000000 steps, about 9 s left",
        "gradcheck: train: 601000 of 1000000 steps, about 4 s left",
    ]  # 100,000 steps/s since the first report; nothing once done
    assert train_command._duration(200) == "3 min" and train_command._duration(9000) == "2.5 h"
    assert progress.done == 1_000_000


def test_output_is_printed_whole_ctrl_c_is_ignored_meanwhile() -> None:
    before = signal.getsignal(signal.SIGINT)
    with train_command._uninterrupted():
        os.kill(os.getpid(), signal.SIGINT)  # would raise KeyboardInterrupt outside
        time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is before
