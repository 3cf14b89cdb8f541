"""The ``gradcheck`` command line: the only package that prints or exits.

This module holds the click group :data:`app`, what several commands share, and :func:`main`,
the console entry point and the one place that turns errors into exit statuses: 0 all good, 1 a
check disagreed, 2 bad input (one line on stderr, no traceback). Each command lives in a module
named for it and registers itself on :data:`app` when imported; the imports at the end of this
module make sure they all are. Anything that imports JAX is imported inside a command, so that
``gradcheck -h`` stays quick. Ctrl-C (SIGINT) ends any command with one line and status 130
(:class:`Interrupted`); shell completion is click's, enabled as the group's epilog says.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from gradcheck.checking.processes import own_process
from gradcheck.spec import GradcheckError

Command = TypeVar("Command", bound=Callable[..., Any])

__all__ = ["Interrupted", "app", "main"]

# Shown by `gradcheck -h`; "\b" keeps click from rewrapping the paragraph after it.
_EPILOG = """Exit status: 0 ok, 1 a check failed (verify, report), 2 bad input (one line on stderr,
no traceback), 130 interrupted (Ctrl-C).

\b
Shell completion: add the line for your shell to its startup file (or save the
script once, e.g. _GRADCHECK_COMPLETE=bash_source gradcheck > ~/.gradcheck.bash,
and source that file, for a quicker shell start).
  bash, ~/.bashrc:  eval "$(_GRADCHECK_COMPLETE=bash_source gradcheck)"
  zsh, ~/.zshrc:    eval "$(_GRADCHECK_COMPLETE=zsh_source gradcheck)"
  fish, ~/.config/fish/completions/gradcheck.fish:
                    _GRADCHECK_COMPLETE=fish_source gradcheck | source
"""


class Interrupted(Exception):
    """Ctrl-C (SIGINT) stopped a command: :func:`main` prints the message as one line on stderr
    and exits with status 130."""


class _Group(click.Group):
    """The command group; a KeyboardInterrupt in any command becomes :class:`Interrupted` here,
    before click would turn it into an abort with a blank line."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted(f"{ctx.invoked_subcommand or 'gradcheck'}: interrupted") from None


def exit_statuses(ok: str, failed: str | None = None) -> str:
    """A command's help epilog naming its exit statuses: 0 ``ok``, 1 ``failed`` (if it has one),
    2 bad input, 130 interrupted."""
    one = f", 1 {failed}" if failed else ""
    return f"Exit status: 0 {ok}{one}, 2 bad input (one line on stderr), 130 interrupted (Ctrl-C)."


def generated_options(examples: int, what: str) -> Callable[[Command], Command]:
    """``--examples N`` (default ``examples``) and ``--seed S``: the generated networks a
    command checks (``what``: what they are checked besides)."""

    def decorate(command: Command) -> Command:
        command = click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Seed of the generated networks.",
        )(command)
        return click.option(
            "--examples",
            type=click.IntRange(min=0),
            default=examples,
            show_default=True,
            help=f"Generated networks checked besides {what} (0: none).",
        )(command)

    return decorate


def jobs_option(command: Command) -> Command:
    """``--jobs N``: processes for the generated networks (0, the default: one per CPU)."""
    return click.option(
        "--jobs",
        type=click.IntRange(min=0),
        default=0,
        show_default=True,
        help="Processes that draw and verify the generated networks (0: one per CPU), at most "
        "one per 32 networks; the verdicts are those of one process.",
    )(command)


class _Range(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2 on
    """``N`` or ``MIN-MAX`` (inclusive), each >= 1: the TOML family's ``n`` or ``[min, max]``."""

    name = "N|MIN-MAX"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, int | list):
            return value
        low, _, high = str(value).partition("-")
        try:
            pair = [int(low), int(high or low)]
        except ValueError:
            self.fail(f"{value!r}: expected N or MIN-MAX, e.g. 2 or 1-3", param, ctx)
        if not 1 <= pair[0] <= pair[1]:
            self.fail(f"{value!r}: need 1 <= MIN <= MAX", param, ctx)
        return pair[0] if pair[0] == pair[1] else pair


class _Names(click.ParamType):  # type: ignore[type-arg]
    """A comma-separated list of names, each one of ``choices``."""

    def __init__(self, choices: Sequence[str]) -> None:
        self.choices = tuple(choices)
        self.name = "NAME[,NAME...]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, list):
            return value
        names = [n.strip() for n in str(value).split(",") if n.strip()]
        bad = [n for n in names if n not in self.choices]
        if bad or not names:
            got = ", ".join(map(repr, bad)) if bad else "nothing"
            self.fail(f"{got}: expected names among {', '.join(self.choices)}", param, ctx)
        return names

    def shell_complete(
        self, ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[click.shell_completion.CompletionItem]:
        done, _, last = incomplete.rpartition(",")
        prefix = f"{done}," if done else ""
        return [
            click.shell_completion.CompletionItem(prefix + c)
            for c in self.choices
            if c.startswith(last)
        ]


# The family bounds the CLI sets directly: option, the family file's field, its type, its help.
_FAMILY_FLAGS: tuple[tuple[str, str, str], ...] = (
    ("--depth", "depth", "Dense layers, e.g. 2 or 1-3."),
    ("--widths", "widths", "Hidden layer widths, e.g. 1-8."),
    ("--kinds", "kinds", "Layer kinds, e.g. dense (default: every kind)."),
    ("--activations", "hidden_activations", "Hidden activations, e.g. sigmoid,tanh."),
    ("--output-activation", "output_activations", "Output activations, e.g. identity,sigmoid."),
    ("--losses", "losses", "Losses, e.g. half_sse,mse."),
    ("--bias-modes", "bias_modes", "Bias modes, e.g. per_neuron."),
    ("--dtypes", "dtypes", "Dtypes, e.g. float64,float32."),
)


def tolerance_options(command: Command) -> Command:
    """``--rtol``, ``--atol`` and ``--mode``: how a verification compares (``verify``'s
    keywords of the same names)."""
    command = click.option(
        "--mode",
        type=click.Choice(["auto", "entries", "projection"]),
        default="auto",
        show_default=True,
        help="Per-entry finite differences, or random directions (auto: above 1000 parameters).",
    )(command)
    command = click.option(
        "--atol",
        type=float,
        help="Override the dtype's absolute floor, per unit of a group's largest gradient.",
    )(command)
    return click.option("--rtol", type=float, help="Override the dtype's relative tolerance.")(
        command
    )


def family_options(command: Command) -> Command:
    """``--family FILE`` and the flags that set one bound each (``--depth``, ``--losses``, ...):
    the command gets ``family``, a :class:`~gradcheck.spec.family.Family` or None (neither
    given). The flags replace the file's values; without a file they bound the defaults."""
    from gradcheck.layers import ACTIVATIONS, KINDS, LOSSES

    names = {
        "kinds": _Names(list(KINDS)),
        "hidden_activations": _Names([n for n, a in ACTIVATIONS.items() if not a.output_only]),
        "output_activations": _Names(list(ACTIVATIONS)),
        "losses": _Names(list(LOSSES)),
        "bias_modes": _Names(("none", "shared", "per_neuron")),
        "dtypes": _Names(("float64", "float32")),
    }

    @functools.wraps(command)
    def with_family(*args: Any, **kwargs: Any) -> Any:
        path = kwargs.pop("family")
        given = {field: kwargs.pop(field) for _, field, _ in _FAMILY_FLAGS}
        bounds = {k: v for k, v in given.items() if v is not None}
        family = _family(path, bounds)
        if family is not None:  # how to make it again, for a printed command
            again = [*(["--family", path] if path else [])]
            for flag, field, _ in _FAMILY_FLAGS:
                if field in bounds:
                    again += [flag, _flag_value(bounds[field])]
            family = dataclasses.replace(family, arguments=tuple(again))
        kwargs["family"] = family
        return command(*args, **kwargs)

    decorated: Any = with_family
    for flag, field, text in reversed(_FAMILY_FLAGS):
        kind = names.get(field, _Range())
        decorated = click.option(flag, field, type=kind, help=text)(decorated)
    decorated = click.option(
        "--family",
        type=click.Path(dir_okay=False, path_type=str),
        help="Network family TOML: the architectures the candidate supports. Generated "
        "networks are drawn from it; given networks outside it are unsupported, not checked.",
    )(decorated)
    return decorated  # type: ignore[no-any-return]


def check_drawable(family: Any, examples: int) -> None:
    """Fail now, as bad input, where ``--examples`` asks for networks ``family`` cannot generate
    (a family of ``conv2d`` alone, say: generated networks end in dense layers)."""
    if not examples:
        return
    from hypothesis.errors import InvalidArgument

    from gradcheck.generate.strategies import sample_networks

    try:
        sample_networks(0, family=family)
    except InvalidArgument as exc:
        raise GradcheckError(
            f"--examples {examples}: no network can be generated: {exc} (pass --examples 0 "
            "to check the given networks only)"
        ) from None


def _flag_value(value: Any) -> str:
    """A family flag's value as typed: ``2`` or ``1-3`` for a range, ``a,b`` for names."""
    if isinstance(value, int):
        return str(value)
    if all(isinstance(v, int) for v in value):
        low, high = value
        return str(low) if low == high else f"{low}-{high}"
    return ",".join(value)


def _family(path: str | None, bounds: dict[str, Any]) -> Any:
    """The family file (or the default family) with ``bounds`` replacing its values; None when
    neither was given."""
    from gradcheck.spec.family import parse_family
    from gradcheck.spec.specfile import read_toml

    if path is None and not bounds:
        return None
    data = read_toml(Path(path)) if path else {"name": "command line"}
    where = path if path else "command-line family"
    if path and bounds:
        where += " with " + ", ".join(f for f, k, _ in _FAMILY_FLAGS if k in bounds)
    return parse_family({**data, **bounds}, where)


def default_cache_dir() -> str:
    """Where the CLI keeps compiled XLA programs: ``$XDG_CACHE_HOME/gradcheck/xla``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "gradcheck", "xla")


def _enable_x64() -> None:
    """The CLI verifies in float64: switch JAX to 64-bit for this process only. Its compiled
    programs go to JAX's persistent compilation cache (:func:`default_cache_dir`, every entry
    however quick its compile), so a later run skips their XLA compiles (``gradcheck verify``:
    16.5 s cold, 7.5 s warm); ``JAX_COMPILATION_CACHE_DIR`` in the environment wins (empty: no
    cache), and a cache already configured in this process is left as it is. The environment
    is not changed (a caller of :func:`main` in its own process keeps its own)."""
    import jax

    jax.config.update("jax_enable_x64", True)  # type: ignore[no-untyped-call]
    if jax.config.jax_compilation_cache_dir:  # type: ignore[attr-defined]
        return
    directory = os.environ.get("JAX_COMPILATION_CACHE_DIR", default_cache_dir())
    if not directory:
        return
    try:
        Path(directory).expanduser().mkdir(parents=True, exist_ok=True)
    except OSError:  # a read-only home: compile as before
        return
    for name, value in (
        ("jax_compilation_cache_dir", directory),
        ("jax_persistent_cache_min_compile_time_secs", 0.0),
        ("jax_persistent_cache_min_entry_size_bytes", 0),
    ):
        jax.config.update(name, value)  # type: ignore[no-untyped-call]


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=_EPILOG)
@click.version_option(package_name="gradcheck")
def app() -> None:
    """Prove hand-derived backpropagation right or wrong."""


# Each command returns its exit status (0 ok, 1 disagreement); bad input raises a
# GradcheckError, which main() turns into one line and status 2; Ctrl-C raises Interrupted.


def _error_line(message: str) -> None:
    """Bad input is reported as exactly one line on stderr."""
    click.echo("gradcheck: error: " + " ".join(message.split()), err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: project errors and usage errors become one line on stderr and exit
    status 2, Ctrl-C one line and status 130; a command's returned int is the exit status.
    (``_GRADCHECK_COMPLETE=..._source`` in the environment: click's shell completion instead.)
    As the console entry point (``argv`` None) the process is the command's own: its cycle
    collector runs less often (:func:`~gradcheck.checking.processes.own_process`)."""
    if argv is None:
        own_process()
    try:
        status = app.main(args=argv, prog_name="gradcheck", standalone_mode=False)
    except Interrupted as exc:
        if sys.stderr.isatty():
            click.echo(err=True)  # past the terminal's "^C"
        click.echo(f"gradcheck: {exc}", err=True)
        if argv is None:  # the console entry point: end now, not after Python's shutdown,
            sys.stdout.flush()  # which takes about a second once XLA is loaded
            sys.stderr.flush()
            os._exit(130)
        sys.exit(130)
    except GradcheckError as exc:
        _error_line(str(exc))
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        no_args_help = getattr(click.exceptions, "NoArgsIsHelpError", ())  # click >= 8.2
        if isinstance(exc, no_args_help):
            click.echo(exc.format_message(), err=True)  # bare `gradcheck`: the help text
        elif isinstance(exc, click.UsageError) and exc.ctx is not None:
            _error_line(f"{exc.format_message().rstrip('.')} (see '{exc.ctx.command_path} -h')")
        else:
            _error_line(exc.format_message())
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("gradcheck: aborted", err=True)
        sys.exit(130)
    sys.exit(status if isinstance(status, int) else 0)


# Register the commands on `app` (`gradcheck -h` lists them by name). Last, because each of
# these modules imports `app` from here.
from gradcheck.cli import (  # noqa: E402, F401
    contract_command,
    mutate_command,
    report_command,
    spec_commands,
    train_command,
    verify_command,
    verify_layer_command,
)
