"""The JAX layer references against straightforward NumPy loops, float64, a few shapes each."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck.oracles import jax_layers
from gradcheck.oracles.jax_layers import JAX_LAYERS

RNG = np.random.default_rng(7)


def _loop_conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, s: int, p: int) -> np.ndarray:
    n, _, h, wd = x.shape
    f, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    oh, ow = (h + 2 * p - kh) // s + 1, (wd + 2 * p - kw) // s + 1
    out = np.zeros((n, f, oh, ow))
    for i in range(n):
        for k in range(f):
            for r in range(oh):
                for q in range(ow):
                    window = xp[i, :, r * s : r * s + kh, q * s : q * s + kw]
                    out[i, k, r, q] = np.sum(window * w[k]) + b[k]
    return out


def _loop_pool(x: np.ndarray, k: tuple[int, int], s: tuple[int, int], op: str) -> np.ndarray:
    n, c, h, w = x.shape
    oh, ow = (h - k[0]) // s[0] + 1, (w - k[1]) // s[1] + 1
    out = np.zeros((n, c, oh, ow))
    for i in range(n):
        for j in range(c):
            for r in range(oh):
                for q in range(ow):
                    window = x[i, j, r * s[0] : r * s[0] + k[0], q * s[1] : q * s[1] + k[1]]
                    out[i, j, r, q] = window.max() if op == "max" else window.mean()
    return out


def _loop_norm(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    """``(x - mean) / sqrt(var + eps)`` with the statistics over ``axes``, by explicit sums."""
    count = int(np.prod([x.shape[a] for a in axes]))
    mean = np.sum(x, axis=axes, keepdims=True) / count
    var = np.sum((x - mean) ** 2, axis=axes, keepdims=True) / count
    return (x - mean) / np.sqrt(var + eps)


@pytest.mark.parametrize(
    ("shape", "filters", "kernel", "stride", "pad"),
    [((1, 1, 3, 3), 1, 3, 1, 0), ((2, 3, 7, 6), 2, 3, 2, 1)],
)
def test_conv2d_is_a_zero_padded_cross_correlation(
    shape: tuple[int, ...], filters: int, kernel: int, stride: int, pad: int
) -> None:
    x = RNG.standard_normal(shape)
    w = RNG.standard_normal((filters, shape[1], kernel, kernel))
    b = RNG.standard_normal(filters)
    got = jax_layers.conv2d(x, w, b, stride=stride, padding=pad)
    np.testing.assert_allclose(got, _loop_conv(x, w, b, stride, pad), rtol=1e-12, atol=1e-12)
    shared = jax_layers.conv2d(x, w, np.float64(0.5), stride=stride, padding=pad)
    expected = _loop_conv(x, w, np.full(filters, 0.5), stride, pad)
    np.testing.assert_allclose(shared, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    ("shape", "kernel", "stride"),
    [
        ((1, 1, 2, 2), (2, 2), (2, 2)),
        ((2, 3, 5, 5), (3, 3), (1, 1)),
        ((2, 2, 7, 6), (3, 2), (2, 3)),
        ((2, 2, 5, 7), (2, 2), (2, 2)),  # windows that tile it, the last row and column left out
        ((1, 1, 6, 6), (3, 3), (3, 3)),
    ],
)
def test_pools_take_the_max_and_mean_of_each_window(
    shape: tuple[int, ...], kernel: tuple[int, int], stride: tuple[int, int]
) -> None:
    x = RNG.standard_normal(shape)
    for op, fn in (("max", jax_layers.max_pool2d), ("mean", jax_layers.avg_pool2d)):
        got = fn(x, kernel=kernel, stride=stride)
        np.testing.assert_allclose(got, _loop_pool(x, kernel, stride, op), rtol=1e-12)


@pytest.mark.parametrize("bias", ["none", "shared", "per_output"])
def test_dense_is_x_times_w_transposed_plus_b(bias: str) -> None:
    x, w = RNG.standard_normal((3, 4)), RNG.standard_normal((2, 4))
    b = {"none": None, "shared": np.float64(0.3), "per_output": RNG.standard_normal(2)}[bias]
    expected = np.array(
        [[sum(x[n, d] * w[m, d] for d in range(4)) for m in range(2)] for n in range(3)]
    )
    got = jax_layers.dense(x, w, b)
    np.testing.assert_allclose(got, expected + (0.0 if b is None else b), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_batch_norm_normalises_each_feature_over_the_batch(shape: tuple[int, ...]) -> None:
    x = RNG.standard_normal(shape) * 3 + 1
    gamma, beta = RNG.standard_normal(shape[1]), RNG.standard_normal(shape[1])
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    view = (1, -1) if len(shape) == 2 else (1, -1, 1, 1)
    expected = gamma.reshape(view) * _loop_norm(x, axes, 1e-5) + beta.reshape(view)
    got = jax_layers.batch_norm(x, gamma, beta, eps=1e-5)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
def test_layer_norm_normalises_each_sample_over_its_features(shape: tuple[int, ...]) -> None:
    x = RNG.standard_normal(shape) * 2 - 1
    gamma, beta = RNG.standard_normal(shape[1:]), RNG.standard_normal(shape[1:])
    expected = gamma * _loop_norm(x, tuple(range(1, len(shape))), 1e-3) + beta
    got = jax_layers.layer_norm(x, gamma, beta, eps=1e-3)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_dropout_scales_the_kept_entries_by_one_over_keep() -> None:
    x = RNG.standard_normal((3, 4))
    mask = (RNG.random((3, 4)) > 0.4).astype(float)
    got = jax_layers.dropout(x, mask=mask, rate=0.4)
    expected = np.where(mask == 1, x / 0.6, 0.0)
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_flatten_keeps_c_order() -> None:
    x = RNG.standard_normal((2, 3, 2, 2))
    got = np.asarray(jax_layers.flatten(x))
    assert got.shape == (2, 12)
    assert got[1, 5] == x[1, 1, 0, 1]


@pytest.mark.parametrize(("n", "t", "d", "h"), [(1, 1, 2, 3), (2, 4, 3, 2)])
def test_rnn_runs_the_tanh_recurrence_from_zero(n: int, t: int, d: int, h: int) -> None:
    x = RNG.standard_normal((n, t, d))
    wxh, whh, b = RNG.standard_normal((h, d)), RNG.standard_normal((h, h)), RNG.standard_normal(h)
    state, states = np.zeros((n, h)), []
    for step in range(t):
        state = np.tanh(x[:, step] @ wxh.T + state @ whh.T + b)
        states.append(state)
    np.testing.assert_allclose(jax_layers.rnn(x, wxh, whh, b), state, rtol=1e-12)
    every = jax_layers.rnn(x, wxh, whh, b, all_states=True)
    np.testing.assert_allclose(every, np.stack(states, axis=1), rtol=1e-12)


def test_the_registry_calls_each_reference_with_its_params_and_options() -> None:
    x = RNG.standard_normal((2, 2, 5, 5))
    w, b = RNG.standard_normal((3, 2, 3, 3)), RNG.standard_normal(3)
    got = JAX_LAYERS["conv2d"](x, {"W": w, "b": b}, {"stride": 2, "padding": 1})
    np.testing.assert_allclose(got, _loop_conv(x, w, b, 2, 1), rtol=1e-12)
    pooled = JAX_LAYERS["max_pool2d"](x, {}, {"kernel": 2, "stride": 1})
    np.testing.assert_allclose(pooled, _loop_pool(x, (2, 2), (1, 1), "max"), rtol=1e-12)
    assert set(JAX_LAYERS) == {
        "dense", "conv2d", "max_pool2d", "avg_pool2d", "flatten",
        "batch_norm", "layer_norm", "dropout", "rnn", "residual",
    }  # fmt: skip
    block = JAX_LAYERS["residual"](x[0, 0], {"W": x[1, 0], "b": b[0]}, {})
    np.testing.assert_allclose(block, x[0, 0] + x[0, 0] @ x[1, 0].T + b[0], rtol=1e-12)


def test_rnn_starts_from_a_given_state() -> None:
    x, h0 = RNG.standard_normal((2, 3, 2)), RNG.standard_normal((2, 4))
    wxh, whh = RNG.standard_normal((4, 2)), RNG.standard_normal((4, 4))
    state = h0
    for step in range(3):
        state = np.tanh(x[:, step] @ wxh.T + state @ whh.T)
    np.testing.assert_allclose(jax_layers.rnn(x, wxh, whh, h0=h0), state, rtol=1e-12)
    via_registry = JAX_LAYERS["rnn"](x, {"Wxh": wxh, "Whh": whh, "h0": h0}, {})
    np.testing.assert_allclose(via_registry, state, rtol=1e-12)


def test_pools_are_differentiable_max_to_the_largest_mean_to_all() -> None:
    import jax

    x = RNG.permutation(30).reshape(1, 1, 5, 6).astype(np.float64)  # no ties
    with jax.enable_x64(True):
        dmax = np.asarray(jax.grad(lambda a: jax_layers.max_pool2d(a, kernel=2, stride=1).sum())(x))
        dmean = np.asarray(
            jax.grad(lambda a: jax_layers.avg_pool2d(a, kernel=2, stride=1).sum())(x)
        )
    wins, counts = np.zeros_like(x), np.zeros_like(x)
    for r in range(4):
        for q in range(5):
            window = x[0, 0, r : r + 2, q : q + 2]
            u, v = np.unravel_index(np.argmax(window), (2, 2))
            wins[0, 0, r + u, q + v] += 1
            counts[0, 0, r : r + 2, q : q + 2] += 0.25
    np.testing.assert_array_equal(dmax, wins)
    np.testing.assert_allclose(dmean, counts, rtol=1e-12)


@pytest.mark.parametrize("stride", [2, 1], ids=["tiling windows", "overlapping windows"])
def test_max_pool_sends_a_tied_windows_gradient_to_its_first_largest_entry(stride: int) -> None:
    # the hand-derived side's convention (and reduce_window's): one entry gets all of it
    import jax

    x = np.array([[[[1.0, 3.0], [3.0, 0.0]]]])
    with jax.enable_x64(True):
        grad = jax.grad(lambda a: jax_layers.max_pool2d(a, kernel=2, stride=stride).sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), [[[[0.0, 1.0], [0.0, 0.0]]]])
