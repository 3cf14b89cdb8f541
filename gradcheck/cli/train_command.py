"""The ``train`` command (issue 5): full-batch training of one spec with the compiled JAX loop
or the NumPy loop, and the final loss, outputs and speed printed for a person or as one JSON
object. Its option choices are listed here rather than read from
:mod:`gradcheck.training.runner`, so that ``gradcheck -h`` does not import JAX.

A JAX run goes in calls sized from measured time to take about _CALL_SECONDS each, so that
Ctrl-C, which cannot stop a compiled call, stops the run between two: one line, status 130, and
nothing on stdout. After the first second a run shows its progress on stderr: a bar with an
estimate on a terminal, else a line every few seconds. Once the run is done, its output is
printed whole (Ctrl-C is ignored while it is).
"""

from __future__ import annotations

import json
import math
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from gradcheck.cli import Interrupted, app, default_cache_dir, exit_statuses
from gradcheck.layers import GRADIENT_DESCENT, UPDATE_RULES

_TRAIN_CHOICES = {
    "backend": ("jax", "numpy"),
    "device": ("auto", "cpu", "gpu"),
    "optimizer": ("sgd", "momentum", "adam"),
    "rule": tuple(UPDATE_RULES),
}  # kept equal to gradcheck.training.runner's tuples by tests/training/test_train.py
_CALL_SECONDS = 0.2  # each compiled call, so Ctrl-C waits at most about this long
_QUIET_SECONDS = 1.0  # a run shows no progress before this
_LINE_SECONDS = 5.0  # then, off a terminal, a progress line this often
_SAMPLES_SHOWN = 10  # outputs printed per run; --json has them all


def _duration(seconds: float) -> str:
    """``40 s``, ``3 min``, ``2.5 h``: an estimate, so rounded."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class _Progress:
    """``on_progress`` for a run of ``steps``: silent for its first second (timed from the first
    report, past compiling), then a rich bar with an estimate when stderr is a terminal, else a
    line on stderr every few seconds. ``done`` is the steps finished so far; used as a context
    manager, it takes the bar down at the end."""

    def __init__(self, name: str, steps: int, terminal: bool) -> None:
        self.name, self.steps, self.terminal = name, steps, terminal
        self.done = 0
        self._first: tuple[float, int] | None = None  # (time, steps done) at the first report
        self._last_line = -math.inf  # when a progress line was last printed
        self._bar: Any = None  # a rich Progress, once shown

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, *_: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, done: int) -> None:
        now, self.done = time.monotonic(), done
        if self._first is None:
            self._first = (now, done)
        if now - self._first[0] < _QUIET_SECONDS or done >= self.steps:
            return
        if self.terminal:
            self._show_bar(done)
        elif now - self._last_line >= _LINE_SECONDS:
            self._last_line = now
            click.echo(f"gradcheck: train: {self.line(now)}", err=True)

    def line(self, now: float) -> str:
        """``1200000 of 1000000000 steps, about 3 min left``, at the speed since the first
        report (no estimate before there is one)."""
        shown = f"{self.done} of {self.steps} steps"
        if self._first is None or now <= self._first[0] or self.done <= self._first[1]:
            return shown
        speed = (self.done - self._first[1]) / (now - self._first[0])
        return f"{shown}, about {_duration((self.steps - self.done) / speed)} left"

    def _show_bar(self, done: int) -> None:
        if self._bar is None:
            from rich.console import Console
            from rich.progress import Progress

            self._bar = Progress(transient=True, console=Console(stderr=True))
            self._bar.start()
            self._task = self._bar.add_task(
                f"training {self.name}", total=self.steps, completed=done
            )
        self._bar.update(self._task, completed=done)


@contextmanager
def _uninterrupted() -> Iterator[None]:
    """Ctrl-C is ignored inside (from the main thread): output is printed whole or not at all."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@app.command("train", epilog=exit_statuses("the run finished"))
@click.argument("spec_path", metavar="SPEC", type=click.Path(path_type=str))
@click.option("--steps", type=click.IntRange(min=1), required=True, help="Training steps.")
@click.option(
    "--backend",
    type=click.Choice(_TRAIN_CHOICES["backend"]),
    default="jax",
    show_default=True,
    help="jax: one compiled XLA program; numpy: the hand-derived NumPy loop (plain SGD only).",
)
@click.option(
    "--device",
    type=click.Choice(_TRAIN_CHOICES["device"]),
    default="auto",
    show_default=True,
    help="Where JAX runs (auto: a GPU if JAX sees one, else the CPU).",
)
@click.option("--dtype", type=click.Choice(["float64", "float32"]), help="Default: the spec's.")
@click.option(
    "--optimizer",
    type=click.Choice(_TRAIN_CHOICES["optimizer"]),
    default="sgd",
    show_default=True,
    help="Update: plain SGD, SGD with momentum 0.9, or Adam (optax defaults).",
)
@click.option(
    "--rule",
    type=click.Choice(_TRAIN_CHOICES["rule"]),
    default=GRADIENT_DESCENT,
    show_default=True,
    help="output-first: update layers from the output down, each delta from updated weights.",
)
@click.option("--learning-rate", type=float, help="Default: the spec's.")
@click.option("--data-parallel", is_flag=True, help="Shard the samples across all devices.")
@click.option(
    "--record-every",
    type=click.IntRange(min=1),
    help="Record the loss every N steps (default: about 500 points).",
)
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=str),
    help="XLA compilation cache (default ~/.cache/gradcheck/xla).",
)
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
    """Train SPEC for --steps full-batch steps (compiled JAX, or the NumPy loop).

    Past its first second a run shows its progress on stderr: a bar with an estimate on a
    terminal, else a line every few seconds. Ctrl-C stops it within about a second, printing
    nothing on stdout.
    """
    from gradcheck.spec import load_spec
    from gradcheck.training.runner import TrainResult, enable_compilation_cache, train

    spec = load_spec(spec_path)
    if backend == "jax" and not no_cache:
        enable_compilation_cache(cache_dir or default_cache_dir())
    progress = _Progress(spec.name, steps, sys.stderr.isatty())
    try:
        with progress:
            result = train(
                spec,
                steps,
                backend=backend,
                optimizer=optimizer,
                rule=rule,
                learning_rate=learning_rate,
                dtype=dtype,
                device=device,
                data_parallel=data_parallel,
                record_every=record_every or max(1, steps // 500),
                chunk_seconds=_CALL_SECONDS if backend == "jax" else None,
                on_progress=progress,
            )
    except KeyboardInterrupt:
        done = f" after {progress.done} of {steps} steps" if progress.done else ""
        raise Interrupted(f"train: interrupted{done}") from None

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

    with _uninterrupted():
        if as_json:
            click.echo(json.dumps(result.to_dict()))
        else:
            show(result)
    return 0
