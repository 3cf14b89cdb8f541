"""gradcheck.spec.contract: the candidate contract is built from the declarations, the README
prints it verbatim, every claim it makes holds, and the minimal candidate meets it."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import RunCli, builtin_specs, make_spec, seed_spec

from gradcheck import sample_networks, verify
from gradcheck.checking.candidates import CANDIDATE_FAILURES, load_candidate
from gradcheck.golden.quantities import Trajectory, parse_quantity, quantity_value
from gradcheck.hand import hand_grads
from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES
from gradcheck.spec import Spec, SpecError, spec_to_toml
from gradcheck.spec.contract import (
    ADAPTING_EXAMPLE,
    SPEC_ATTRIBUTES,
    SPEC_INTERNALS,
    contract_data,
    contract_text,
)

ROOT = Path(__file__).resolve().parents[2]
HEADING = "## Writing a candidate\n\n"
MINIMAL = ROOT / "examples" / "minimal_candidate.py"


def _readme_section() -> str:
    readme = (ROOT / "README.md").read_text()
    assert readme.count(HEADING) == 1, "README.md needs one '## Writing a candidate' section"
    body = readme.split(HEADING, 1)[1]
    return body.split("\n## ", 1)[0].rstrip("\n") + "\n"


def test_the_readme_section_is_the_contract_text() -> None:
    assert _readme_section() == contract_text(), (
        "README.md's 'Writing a candidate' section differs from `gradcheck contract`: paste "
        "that command's output under the heading"
    )


def test_the_section_follows_verifying_gradients() -> None:
    headings = [line for line in (ROOT / "README.md").read_text().splitlines() if line[:3] == "## "]
    at = headings.index(HEADING.strip())
    assert headings[at - 1].startswith("## Verifying gradients")


def test_gradcheck_contract_prints_the_text_and_the_json(run_cli: RunCli) -> None:
    assert run_cli(["contract"]) == (0, contract_text(), "")
    status, out, err = run_cli(["contract", "--json"])
    assert (status, err) == (0, "")
    assert json.loads(out) == contract_data()


def test_the_text_is_plain_markdown_lines_of_at_most_100_columns() -> None:
    text = contract_text()
    assert all(len(line) <= 100 for line in text.splitlines())
    prose = text.split("```")[0::2]  # outside the fenced example
    for line in "\n".join(prose).splitlines():
        assert not line.lstrip().startswith(("* ", "+ ")), line  # no accidental list
        assert not (line.startswith("  - ") or line.startswith("  > ")), line


def test_every_declared_loss_activation_and_kind_appears() -> None:
    text = contract_text()
    for loss in LOSSES.values():
        for fact in (f"`{loss.name}`", loss.formula, loss.reduction, loss.gradient):
            assert fact in " ".join(text.split()), fact
    for a in ACTIVATIONS.values():
        line = next(b for b in text.split("\n- ") if b.startswith(f"`{a.name}`"))
        assert a.formula in " ".join(line.split())
        assert ("Kinked at z = 0" in line) == a.kinked
        assert ("(output layer only)" in line) == a.output_only
    for kind in KINDS:
        assert f"\n- {kind}: " in text
    data = contract_data()
    assert [x["name"] for x in data["losses"]] == list(LOSSES)
    assert [x["name"] for x in data["activations"]] == list(ACTIVATIONS)


def test_the_reductions_are_the_ones_the_hand_derived_losses_compute() -> None:
    """Stated once for people (LossInfo.reduction); held to the implementation here."""
    from gradcheck.hand.losses import HAND_LOSSES

    rng = np.random.default_rng(0)
    o, t = rng.uniform(0.1, 0.9, (3, 4)), rng.uniform(0.1, 0.9, (3, 4))
    assert np.isclose(HAND_LOSSES["half_sse"].value(o, t), 0.5 * ((t - o) ** 2).sum())
    assert np.isclose(HAND_LOSSES["mse"].value(o, t), ((o - t) ** 2).sum() / (3 * 4))
    ce = HAND_LOSSES["softmax_cross_entropy"].value(o, t)
    assert np.isclose(ce, -(t * np.log(o)).sum() / 3)


def test_each_declared_derivative_and_forward_pass_is_in_the_contract() -> None:
    data, text = contract_data(), contract_text()
    listed = {a["name"]: a for a in data["activations"]}
    for name, info in ACTIVATIONS.items():
        assert listed[name]["derivative"] == info.derivative
        assert f"act'(z) = {info.derivative}" in " ".join(text.split())
    for name, kind in KINDS.items():
        assert data["forward"][name] == kind.forward
        assert f"{name}: {kind.forward}." in " ".join(text.split())


def _name_and_arguments(entry: str) -> tuple[str, list[str] | None]:
    """``"label(layer, group, index)"`` -> ``("label", ["layer", "group", "index"])``;
    ``"sizes"`` -> ``("sizes", None)``."""
    name, paren, rest = entry.partition("(")
    if not paren:
        return name, None
    return name, [a.strip() for a in rest.removesuffix(")").split(",") if a.strip()]


@pytest.mark.parametrize("entry", [e for e, _ in SPEC_ATTRIBUTES])
def test_every_listed_spec_attribute_exists_as_listed(entry: str) -> None:
    name, arguments = _name_and_arguments(entry)
    attribute = inspect.getattr_static(Spec, name)  # AttributeError: renamed or removed
    if arguments is None:  # read as spec.name: a property, a cached property or a slot
        assert not inspect.isfunction(attribute), f"Spec.{name} is a method: list {name}(...)"
    else:
        assert inspect.isfunction(attribute), f"Spec.{name} is not a method"
        parameters = list(inspect.signature(attribute).parameters)[1:]
        assert parameters == arguments, f"Spec.{name}{tuple(parameters)}"


def test_every_public_spec_attribute_is_listed_or_explained() -> None:
    public = {n for n in dir(Spec) if not n.startswith("_")}
    listed = [_name_and_arguments(e)[0] for e, _ in SPEC_ATTRIBUTES]
    internal = [n for n, _ in SPEC_INTERNALS]
    assert len(set(listed + internal)) == len(listed + internal)
    assert set(listed) | set(internal) == public


def test_the_listed_spec_attributes_read_on_a_real_spec() -> None:
    spec = seed_spec("linear-2-2-1")
    for entry, _ in SPEC_ATTRIBUTES:
        name, arguments = _name_and_arguments(entry)
        value = getattr(spec, name)
        if arguments == []:
            value()


def _two_samples() -> Spec:
    """out = 3 x on inputs 1 and 2, targets equal to the outputs (so training keeps them)."""
    return make_spec(
        [{"size": 1, "weights": [[3.0]], "names": ["o1"]}],
        [[1.0], [2.0]],
        [[3.0], [6.0]],
        input={"size": 1, "names": ["i1"]},
    )


def test_golden_sample_indices_count_from_0() -> None:
    spec = _two_samples()
    run = Trajectory(spec, hand_grads)
    assert quantity_value(parse_quantity(spec, "out:o1#0"), run) == 3.0  # inputs[0]
    assert quantity_value(parse_quantity(spec, "out:o1#1"), run) == 6.0  # inputs[1]
    with pytest.raises(SpecError, match="sample 2 does not exist"):
        parse_quantity(spec, "out:o1#2")


def test_train_prints_samples_counting_from_1_and_json_lists_them_from_0(
    tmp_path: Path, run_cli: RunCli
) -> None:
    path = tmp_path / "two.toml"
    path.write_text(spec_to_toml(_two_samples()))
    args = ["train", str(path), "--steps", "1", "--backend", "numpy"]
    status, out, _ = run_cli(args)
    assert status == 0
    assert "sample 1: o1 = 3.000000000" in out and "sample 2: o1 = 6.000000000" in out
    status, out, _ = run_cli([*args, "--json"])
    assert status == 0 and json.loads(out)["outputs"] == [[3.0], [6.0]]


def test_the_entry_label_is_verifys() -> None:
    spec = make_spec(
        [{"size": 2, "init": {"rule": "normal"}}, {"size": 2, "init": {"rule": "normal"}}],
        [[0.0, 0.0]],
        [[0.0, 0.0]],
    )
    label = contract_data()["indices"]["entry_label"]
    assert label == spec.label(1, "W", (1, 0)) == "layer 2 W[1,0]"
    assert f"`{label}`" in contract_text()


def _all_verify(fn: Any, cases: list[tuple[Spec, Any, Any, Any]]) -> None:
    verdicts = [verify(fn, *case) for case in cases]
    failed = [v.summary() for v in verdicts if not v.ok]
    assert not failed, "\n".join(failed)


def _cases(specs: tuple[Spec, ...], n: int, **kwargs: Any) -> list[tuple[Any, ...]]:
    built = [(s, s.initial_params(), s.inputs(), s.targets()) for s in specs]
    return built + [tuple(case) for case in sample_networks(n, seed=0, **kwargs)]


MINIMAL_KINDS = ("dense", "residual")
DENSE = ("dense",)  # the course function: dense layers


def _minimal_handles(spec: Spec) -> bool:
    """The minimal candidate's kinds: dense layers and residual blocks of dense layers."""
    return set(spec.kinds) <= set(MINIMAL_KINDS)


def test_the_minimal_candidate_verifies_on_the_builtin_and_30_generated_networks() -> None:
    assert "gradcheck.hand" not in MINIMAL.read_text()  # backprop by hand, not borrowed
    assert contract_data()["minimal_candidate"] == f"{MINIMAL.relative_to(ROOT)}:grads"
    grads = load_candidate(f"{MINIMAL}:grads")
    cases = _cases(
        tuple(s for s in builtin_specs() if _minimal_handles(s)), 30, kinds=MINIMAL_KINDS
    )
    drawn = {a for case in cases for a in case[0].activations}
    assert drawn == set(ACTIVATIONS)  # every activation drawn, softmax included
    assert {m for case in cases for m in case[0].bias_modes} == {"none", "shared", "per_neuron"}
    assert any(any(f) for case in cases for f in case[0].frozen_params())
    assert any("residual" in case[0].kinds for case in cases)
    _all_verify(grads, cases)


def test_the_minimal_candidate_says_other_kinds_are_unsupported() -> None:
    grads = load_candidate(f"{MINIMAL}:grads")
    others = [s for s in builtin_specs() if not _minimal_handles(s)]
    assert others  # the built-in conv net at least
    for spec in others:
        verdict = verify(grads, spec, catch=CANDIDATE_FAILURES)
        assert verdict.ok and "minimal candidate: no " in verdict.unsupported


def test_the_minimal_candidate_returns_the_spec_dtype_for_float32() -> None:
    grads = load_candidate(f"{MINIMAL}:grads")
    for spec, params, x, t in sample_networks(10, seed=1, dtypes=("float32",), kinds=MINIMAL_KINDS):
        for layer, want in zip(grads(spec, params, x, t), params, strict=True):
            assert {k: (a.dtype, a.shape) for k, a in layer.items()} == {
                k: (a.dtype, a.shape) for k, a in want.items()
            }


def _course_backprop(
    x: np.ndarray, y: np.ndarray, weights: list[np.ndarray], biases: list[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A course's per-sample backprop: sigmoid layers, columns, cost 1/2 |a - y|^2."""
    activation, activations, zs = x, [x], []
    for w, b in zip(weights, biases, strict=True):
        zs.append(w @ activation + b)
        activation = 1.0 / (1.0 + np.exp(-zs[-1]))
        activations.append(activation)
    delta = (activations[-1] - y) * activations[-1] * (1 - activations[-1])
    nabla_b, nabla_w = [delta], [delta @ activations[-2].T]
    for layer in range(2, len(weights) + 1):
        s = activations[-layer]
        delta = (weights[-layer + 1].T @ delta) * s * (1 - s)
        nabla_b.insert(0, delta)
        nabla_w.insert(0, delta @ activations[-layer - 1].T)
    return nabla_b, nabla_w


def test_the_adapting_example_runs_as_written_on_a_course_function() -> None:
    namespace: dict[str, Any] = {"backprop": _course_backprop}
    exec(ADAPTING_EXAMPLE, namespace)
    sigmoid = tuple(s for s in builtin_specs() if set(s.activations) == {"sigmoid"})
    assert sigmoid  # the sigmoid 2-2-2 seed: shared frozen biases
    cases = _cases(sigmoid, 15, activations=("sigmoid",), losses=("half_sse", "mse"), kinds=DENSE)
    assert {case[0].loss for case in cases} == {"half_sse", "mse"}
    assert {m for case in cases for m in case[0].bias_modes} == {"none", "shared", "per_neuron"}
    _all_verify(namespace["grads"], cases)


def test_each_kind_names_its_groups_and_options_as_specs_hold_them() -> None:
    """The contract's line per kind names every key a drawn layer of that kind has in
    ``params``, ``spec.frozen_params()`` and ``spec.options`` (a trial had to print them)."""
    seen: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for case in sample_networks(200, 4):
        spec = case.spec
        for i, kind in enumerate(spec.kinds):
            groups = {*case.params[i], *spec.frozen_params()[i]}
            seen[kind] |= {"j.G" if "." in g else g for g in groups}
            seen[kind] |= set(dict(spec.options[i]))
    assert all(seen[kind] for kind in ("dense", "conv2d", "rnn", "batch_norm", "max_pool2d"))
    for kind, keys in seen.items():
        for key in keys:
            assert f"`{key}`" in KINDS[kind].parameters, (kind, key)
