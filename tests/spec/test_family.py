"""gradcheck.spec.family: a network family as data, validated like a spec (every problem one
line naming the file and the field), and how a spec falls outside one, phrase by phrase."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from helpers import RunCli, assert_one_error_line, make_spec

from gradcheck.generate.strategies import sample_networks
from gradcheck.spec import Spec, SpecError
from gradcheck.spec.family import Family, load_family, parse_family

EXAMPLE = Path(__file__).parents[2] / "examples" / "two_layer_family.toml"

TWO_LAYER: dict[str, Any] = {
    "name": "two",
    "depth": 2,
    "inputs": [1, 3],
    "widths": [2, 4],
    "outputs": 1,
    "hidden_activations": ["sigmoid", "tanh"],
    "output_activations": ["identity"],
    "losses": ["half_sse"],
    "bias_modes": ["per_neuron"],
    "frozen": [],
    "dtypes": ["float64"],
    "batch": [1, 2],
}


_ONE_LAYER = {
    "size": 1,
    "activation": "identity",
    "init": {"rule": "xavier", "seed": 3},
    "bias": {"mode": "per_neuron"},
}


def _inside(**changes: Any) -> Spec:
    """A 2-3-1 network inside TWO_LAYER, with ``changes`` applied to its parts."""
    hidden = {"size": 3, "activation": "sigmoid", "init": {"rule": "xavier", "seed": 1}}
    out = {"size": 1, "activation": "identity", "init": {"rule": "xavier", "seed": 2}}
    hidden["bias"] = out["bias"] = {"mode": "per_neuron"}
    hidden.update(changes.pop("hidden", {}))
    out.update(changes.pop("out", {}))
    layers = changes.pop("layers", [hidden, out])
    n_in = changes.pop("n_in", 2)
    batch = changes.pop("batch", 1)
    n_out = layers[-1]["size"]
    return make_spec(layers, [[0.5] * n_in] * batch, [[0.1] * n_out] * batch, **changes)


def test_the_example_family_loads_with_every_bound_as_written() -> None:
    family = load_family(EXAMPLE)
    assert family.depth == (2, 2) and family.widths == (1, 8) and family.outputs == (1, 3)
    assert family.hidden_activations == ("sigmoid",) and family.frozen == ()
    assert family.path == str(EXAMPLE)


def test_a_field_left_out_allows_everything_the_generator_draws_by_default() -> None:
    everything = parse_family({"name": "all"})
    assert all(not everything.outside(c.spec) for c in sample_networks(60, seed=3))


def test_a_spec_inside_the_family_has_nothing_outside() -> None:
    assert parse_family(TWO_LAYER).outside(_inside()) == []


@pytest.mark.parametrize(
    ("changes", "phrase"),
    [
        ({"layers": [_ONE_LAYER]}, "depth 1 (family 'two': 2)"),
        ({"n_in": 5}, "input width 5 (family 'two': 1 to 3)"),
        ({"hidden": {"size": 6}}, "layer 1 width 6 (family 'two': 2 to 4)"),
        ({"out": {"size": 2}}, "layer 2 (output) width 2 (family 'two': 1)"),
        ({"hidden": {"activation": "relu"}}, "layer 1 activation 'relu' (family 'two': sigmoid"),
        ({"out": {"activation": "sigmoid"}}, "layer 2 (output) activation 'sigmoid'"),
        ({"loss": "mse"}, "loss 'mse' (family 'two': half_sse)"),
        ({"hidden": {"bias": {"mode": "shared"}}}, "layer 1 bias 'shared'"),
        ({"out": {"trainable": False}}, "layer 2 W frozen (family 'two': weights always"),
        (
            {"out": {"bias": {"mode": "per_neuron", "trainable": False}}},
            "layer 2 b frozen (family 'two': biases always trainable)",
        ),
        ({"dtype": "float32"}, "dtype float32 (family 'two': float64)"),
        ({"batch": 3}, "batch size 3 (family 'two': 1 to 2)"),
    ],
)
def test_each_way_out_of_the_family_is_named(changes: dict[str, Any], phrase: str) -> None:
    found = parse_family(TWO_LAYER).outside(_inside(**changes))
    assert len(found) == 1 and found[0].startswith(phrase), found


def test_allowing_frozen_groups_admits_them() -> None:
    frozen = _inside(out={"trainable": False, "bias": {"mode": "per_neuron", "trainable": False}})
    assert parse_family({**TWO_LAYER, "frozen": ["weights", "biases"]}).outside(frozen) == []
    assert len(parse_family({**TWO_LAYER, "frozen": ["weights"]}).outside(frozen)) == 1


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"depth": [3, 1]}, ("depth: expected n or [min, max] with 1 <= min <= max", "[3, 1]")),
        ({"depth": [1, 2, 3]}, ("depth: expected n or [min, max]",)),
        ({"batch": 0}, ("batch: expected n or [min, max]",)),
        ({"widths": "1-3"}, ("widths: must be", "'1-3'")),
        ({"activations": ["relu"]}, ("activations: unknown field, expected one of", "widths")),
        ({"hidden_activations": ["gelu"]}, ("hidden_activations[0]: must be one of", "'gelu'")),
        ({"hidden_activations": ["softmax"]}, ("softmax is allowed on the output layer only",)),
        ({"losses": []}, ("losses: must have at least 1 item",)),
        ({"frozen": ["gamma"]}, ("frozen[0]: must be one of 'weights' or 'biases'",)),
        ({"kinds": ["lstm"]}, ("kinds[0]: must be one of 'dense'", "'lstm'")),
        (
            {"losses": ["softmax_cross_entropy"], "output_activations": ["sigmoid"]},
            ("losses: no loss fits the output activations", "needs 'softmax'"),
        ),
    ],
)
def test_a_bad_family_is_one_error_naming_file_and_field(
    change: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    with pytest.raises(SpecError) as raised:
        parse_family({**TWO_LAYER, **change}, "fam.toml")
    message = str(raised.value)
    assert message.startswith("fam.toml: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_missing_or_malformed_family_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"nope\.toml: no such file"):
        load_family(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(SpecError, match=r"broken\.toml: malformed TOML"):
        load_family(broken)


def test_schema_family_prints_the_family_files_json_schema(run_cli: RunCli) -> None:
    result = run_cli(["schema", "--family"])
    schema = json.loads(result.out)
    assert result.status == 0 and schema["title"] == "FamilyModel"
    assert {"depth", "hidden_activations", "output_activations", "frozen"} <= set(
        schema["properties"]
    )
    assert schema["additionalProperties"] is False


def test_a_family_is_frozen_data() -> None:
    family: Family = parse_family(TWO_LAYER)
    with pytest.raises(AttributeError):
        family.depth = (1, 1)  # type: ignore[misc]


def test_the_command_line_bounds_without_a_file_make_a_family(run_cli: RunCli) -> None:
    result = run_cli(
        [
            "verify",
            "--examples",
            "0",
            "--losses",
            "softmax_cross_entropy",
            "--output-activation",
            "identity",
        ]
    )
    assert result.status == 2
    assert_one_error_line(result.err, "command-line family: losses: no loss fits")
