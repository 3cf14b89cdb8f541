"""The ``contract`` command: what a candidate gradient function receives and must return (the
argument layout, each loss's formula and reduction, each activation's derivative and kink
convention, the ``Spec`` attributes it may read, how samples are counted), built from the
declarations by :mod:`gradcheck.spec.contract`, as text or as JSON.
"""

from __future__ import annotations

import json

import click

from gradcheck.cli import app, exit_statuses
from gradcheck.spec.contract import contract_data, contract_text


@app.command("contract", epilog=exit_statuses("printed"))
@click.option("--json", "as_json", is_flag=True, help="Print the contract as one JSON object.")
def contract_command(as_json: bool) -> int:
    """Print the contract a candidate gradient function must meet.

    A candidate is (spec, params, inputs, targets) -> grads, checked by verify --candidate.
    """
    if as_json:
        click.echo(json.dumps(contract_data(), indent=2))
    else:
        click.echo(contract_text(), nl=False)
    return 0
