"""Every side registers every declared layer kind, activation and loss; unknown names raise.

The registries are found by walking the package, so a registry added on a new side is held to
the declarations without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

import pytest
from helpers import make_spec

import gradcheck
from gradcheck.layers import (
    ACTIVATIONS,
    KINDS,
    LAYER_LEVEL_KINDS,
    LAYER_ONLY_KINDS,
    LOSSES,
    UPDATE_RULES,
    Registry,
    UnknownName,
    activation_info,
    kind_of,
    loss_info,
)
from gradcheck.oracles.fd_network import FD_KINDS
from gradcheck.spec import SpecError

DECLARED = {
    "activation": set(ACTIVATIONS),
    "loss": set(LOSSES),
    "layer kind": set(KINDS),
    "layer-level kind": set(LAYER_LEVEL_KINDS),
    "update rule": set(UPDATE_RULES),
    # the kinds whose finite-difference net has kinks of its own (max-pool ties, a residual
    # block's inner units): the error model bounds each of their units
    "kind with kinks of its own": {k for k in KINDS if FD_KINDS[k].kink is not None},
}
# Concepts only one side has, so there is nothing to keep equal.
ONE_SIDED = {"optimizer"}
# The independent sides every declared activation, loss and kind must be implemented on.
SIDES = {
    "activation": {"hand-derived NumPy", "finite-difference oracle", "error model", "JAX network"},
    "loss": {"hand-derived NumPy", "finite-difference oracle", "error model", "JAX network"},
    "layer kind": {
        "hand-derived NumPy",
        "finite-difference oracle",
        "JAX network",
        "network generator",
    },
    "layer-level kind": {"JAX layer reference", "layer draws", "course layer contract"},
}


def _registries() -> dict[str, list[Registry[object]]]:
    found: dict[str, list[Registry[object]]] = defaultdict(list)
    for info in pkgutil.walk_packages(gradcheck.__path__, "gradcheck."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, Registry) and value not in found[value.concept]:
                found[value.concept].append(value)
    return found


REGISTRIES = _registries()


def test_every_registry_is_of_a_declared_concept() -> None:
    assert set(REGISTRIES) <= set(DECLARED) | ONE_SIDED


@pytest.mark.parametrize("concept", sorted(SIDES))
def test_every_independent_side_has_a_registry(concept: str) -> None:
    assert {r.side for r in REGISTRIES[concept]} >= SIDES[concept]


@pytest.mark.parametrize(
    "registry",
    [r for concept in DECLARED for r in REGISTRIES[concept]],
    ids=lambda r: f"{r.side}: {r.concept}",
)
def test_every_registry_holds_exactly_the_declared_names(registry: Registry[object]) -> None:
    assert registry.names() == DECLARED[registry.concept]


def test_verify_layer_checks_every_whole_network_kind() -> None:
    assert set(KINDS) <= LAYER_LEVEL_KINDS  # every kind, in a network and alone
    assert not set(KINDS) & set(LAYER_ONLY_KINDS)


@pytest.mark.parametrize(
    "registry",
    [r for rs in REGISTRIES.values() for r in rs],
    ids=lambda r: f"{r.side}: {r.concept}",
)
def test_an_unknown_name_raises_naming_side_concept_and_name(registry: Registry[object]) -> None:
    with pytest.raises(UnknownName) as err:
        registry["gelu"]
    message = str(err.value)
    assert message.startswith(f"{registry.side}: no {registry.concept} named 'gelu'")
    assert "\n" not in message


def test_a_name_registered_twice_raises() -> None:
    registry: Registry[int] = Registry("test side", "activation")
    registry.add("tanh", 1)
    with pytest.raises(gradcheck.GradcheckError, match="registered twice"):
        registry.add("tanh", 2)


def test_declaration_lookups_raise_for_unknown_names() -> None:
    with pytest.raises(UnknownName, match="no activation named 'gelu'"):
        activation_info("gelu")
    with pytest.raises(UnknownName, match="no loss named 'hinge'"):
        loss_info("hinge")
    with pytest.raises(UnknownName, match="no layer kind named 'lstm'"):
        kind_of(type("Table", (), {"kind": "lstm"})())


def test_the_training_optimizer_has_no_fallback() -> None:
    from gradcheck.training.jax_step import transform

    with pytest.raises(UnknownName, match="no optimizer named 'rmsprop'"):
        transform("rmsprop", 0.1)


@pytest.mark.parametrize(
    ("field", "value"), [("activation", "gelu"), ("kind", "lstm")], ids=["activation", "kind"]
)
def test_a_spec_naming_an_undeclared_layer_name_is_one_line(field: str, value: str) -> None:
    layer = {"size": 1, "weights": [[1.0]], field: value}
    with pytest.raises(SpecError) as err:
        make_spec([layer], [[1.0]], [[0.0]], name="n", path="net.toml")
    assert str(err.value).startswith(f"net.toml: layers[0].{field}: must be ")
    assert repr(value) in str(err.value) and "\n" not in str(err.value)


def test_an_undeclared_loss_is_one_line() -> None:
    layer = {"size": 1, "weights": [[1.0]]}
    with pytest.raises(SpecError, match=r"^net.toml: loss: must be one of .* \(got 'hinge'\)$"):
        make_spec([layer], [[1.0]], [[0.0]], name="n", loss="hinge", path="net.toml")
