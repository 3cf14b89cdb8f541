"""The ``verify-layer`` command (issue 9): a course-style layer's forward and backward checked
over drawn cases against the JAX reference, JAX's vjp and finite differences of the forward;
the minimal failing case printed with the command that replays it."""

from __future__ import annotations

import json
from typing import Any

import click

from gradcheck.cli import _enable_x64, app, exit_statuses
from gradcheck.errors import GradcheckError
from gradcheck.spec.layer_contract import CONTRACT_TABLE, LAYER_CONTRACTS


def _option_value(text: str) -> Any:
    """``2`` -> 2, ``1e-5`` -> 1e-05, ``out_in`` -> 'out_in' (JSON where it parses, else text)."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _options(given: tuple[str, ...]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in given:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GradcheckError(f"--option {item!r}: expected KEY=VALUE, e.g. stride=2")
        options[key.strip()] = _option_value(value.strip())
    return options


def _load(reference: str, flag: str) -> Any:
    from gradcheck.checking.candidates import CandidateError, load_candidate

    try:
        return load_candidate(reference)
    except CandidateError as exc:
        raise CandidateError(str(exc).replace("--candidate", flag, 1)) from None


@app.command(
    "verify-layer",
    epilog="\b\n"
    + CONTRACT_TABLE
    + "\n\n"
    + exit_statuses("every case agreed", "a case disagreed"),
)
@click.argument("kind", type=click.Choice(list(LAYER_CONTRACTS)))
@click.option(
    "--forward",
    required=True,
    metavar="MODULE:FUNCTION",
    help="forward(x, *params[, options]) -> (out, cache); also path/to/file.py:function.",
)
@click.option(
    "--backward",
    required=True,
    metavar="MODULE:FUNCTION",
    help="backward(dout, cache) -> (dx, *dparams).",
)
@click.option(
    "--option",
    "given",
    multiple=True,
    metavar="KEY=VALUE",
    help="Fix a knob of the drawn cases (shape, option or data_seed), e.g. stride=2.",
)
@click.option(
    "--examples", type=click.IntRange(min=1), default=100, show_default=True, help="Cases drawn."
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Seed of the drawn cases.",
)
@click.option(
    "--dtype",
    type=click.Choice(["float64", "float32"]),
    default="float64",
    show_default=True,
    help="dtype of every array the layer gets.",
)
@click.option("--rtol", type=float, help="Override the dtype's relative tolerance.")
@click.option("--atol", type=float, help="Override the dtype's absolute floor.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def verify_layer_command(
    kind: str,
    forward: str,
    backward: str,
    given: tuple[str, ...],
    examples: int,
    seed: int,
    dtype: str,
    rtol: float | None,
    atol: float | None,
    as_json: bool,
) -> int:
    """Check a course-style layer: forward(x, *params[, options]) -> (out, cache) and
    backward(dout, cache) -> (dx, *dparams), over drawn shapes and options.

    The forward is compared with gradcheck's reference forward of KIND; the backward with
    JAX's vector-Jacobian product for a random upstream dout, and with finite differences of
    your own forward, so a wrong forward with a backward that matches it is told apart from
    a wrong backward. A failure is shrunk to a minimal case, printed with the command that
    replays it. Weights are in course layout (affine w (D, M), rnn Wx (D, H)); --option
    layout=out_in takes gradcheck's (one row per output). The contract of each kind:
    """
    from gradcheck.search.layers import verify_layer

    options = _options(given)
    fns = _load(forward, "--forward"), _load(backward, "--backward")
    _enable_x64()
    verdict = verify_layer(
        kind,
        *fns,
        examples=examples,
        dtype=dtype,
        seed=seed,
        rtol=rtol,
        atol=atol,
        references=(forward, backward),
        **options,
    )
    if as_json:
        click.echo(json.dumps(verdict.to_dict(), indent=2))
    else:
        click.echo(verdict.summary())
        for line in verdict.failure_lines():
            click.echo(f"     {line}")
    return 0 if verdict.ok else 1
