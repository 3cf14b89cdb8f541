"""The ``train`` command (issue 5): full-batch training of one spec with the compiled JAX loop
or the NumPy loop, with a progress bar on a terminal for long runs, and the final loss, outputs
and speed printed for a person or as one JSON object. Its option choices are listed here rather
than read from :mod:`gradcheck.training.runner`, so that ``gradcheck -h`` does not import JAX.
"""

from __future__ import annotations

import json
import sys

import click

from gradcheck.cli import app
from gradcheck.layers import GRADIENT_DESCENT, UPDATE_RULES

_TRAIN_CHOICES = {
    "backend": ("jax", "numpy"),
    "device": ("auto", "cpu", "gpu"),
    "optimizer": ("sgd", "momentum", "adam"),
    "rule": tuple(UPDATE_RULES),
}  # kept equal to gradcheck.training.runner's tuples by tests/training/test_train.py
_PROGRESS_WORK = 10**8  # steps x samples x parameters above which a TTY gets a progress bar
_SAMPLES_SHOWN = 10  # outputs printed per run; --json has them all


def _default_cache_dir() -> str:
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gradcheck", "xla")


@app.command("train")
@click.argument("spec_path", metavar="SPEC")
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Training steps.")
@click.option("--backend", type=click.Choice(_TRAIN_CHOICES["backend"]), default="jax")
@click.option("--device", type=click.Choice(_TRAIN_CHOICES["device"]), default="auto")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), help="Default: the spec's.")
@click.option("--optimizer", type=click.Choice(_TRAIN_CHOICES["optimizer"]), default="sgd")
@click.option(
    "--rule",
    type=click.Choice(_TRAIN_CHOICES["rule"]),
    default=GRADIENT_DESCENT,
    help="output-first: update layers from the output down, each delta from updated weights.",
)
@click.option("--learning-rate", type=float, help="Default: the spec's.")
@click.option("--data-parallel", is_flag=True, help="Shard the samples across all devices.")
@click.option(
    "--record-every",
    type=click.IntRange(min=1),
    help="Record the loss every N steps (default: about 500 points).",
)
@click.option("--cache-dir", help="XLA compilation cache (default ~/.cache/gradcheck/xla).")
@click.option("--no-cache", is_flag=True, help="Do not use the persistent compilation cache.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def train_command(
    spec_path: str,
    steps: int,
    backend: str,
    device: str,
    dtype: str | None,
    optimizer: str,
    rule: str,
    learning_rate: float | None,
    data_parallel: bool,
    record_every: int | None,
    cache_dir: str | None,
    no_cache: bool,
    as_json: bool,
) -> int:
    """Train SPEC for --steps full-batch steps (JAX: one compiled scan; or the NumPy loop)."""
    import functools

    from gradcheck.spec import load_spec
    from gradcheck.training.runner import TrainResult, enable_compilation_cache, train

    spec = load_spec(spec_path)
    if backend == "jax" and not no_cache:
        enable_compilation_cache(cache_dir or _default_cache_dir())
    every = record_every or max(1, steps // 500)
    work = steps * len(spec.model.samples) * spec.n_params
    show_progress = sys.stderr.isatty() and not as_json and work >= _PROGRESS_WORK
    run = functools.partial(
        train,
        spec,
        steps,
        backend=backend,
        optimizer=optimizer,
        rule=rule,
        learning_rate=learning_rate,
        dtype=dtype,
        device=device,
        data_parallel=data_parallel,
        record_every=every,
    )
    if show_progress and backend == "jax":
        from rich.console import Console
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(f"training {spec.name}", total=steps)
            result = run(chunks=10, on_progress=lambda done: bar.update(task, completed=done))
    else:
        result = run()
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return 0

    def show(result: TrainResult) -> None:
        """Final loss, the outputs per sample, and the speed, for a person."""
        spec = result.spec
        last = len(spec.sizes) - 1
        names = {j: n for n, (layer, j) in spec.unit_names.items() if layer == last}
        click.echo(
            f"{spec.name}: {result.steps} steps, {result.optimizer} ({result.rule}), "
            f"lr {spec.learning_rate:g}, {spec.model.dtype}, {result.backend} on {result.device}"
        )
        click.echo(f"final loss ({spec.loss}): {result.loss:.9g}")
        for s, row in enumerate(result.outputs[:_SAMPLES_SHOWN]):
            shown = ", ".join(f"{names.get(j, f'out[{j}]')} = {v:.9f}" for j, v in enumerate(row))
            click.echo(f"sample {s + 1}: {shown}")
        if len(result.outputs) > _SAMPLES_SHOWN:
            click.echo(f"... {len(result.outputs) - _SAMPLES_SHOWN} more samples (see --json)")
        speed = result.steps_per_second
        rate = "n/a" if speed == float("inf") else f"{speed:,.0f} steps/s"
        click.echo(f"speed: {rate} ({result.seconds * 1e3:.2f} ms running, ", nl=False)
        click.echo(f"{result.compile_seconds * 1e3:.0f} ms tracing and compiling)")

    show(result)
    return 0
