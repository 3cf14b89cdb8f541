"""The ``gradcheck`` command line: the only package that prints or exits.

This module holds the click group :data:`app`, what several commands share, and :func:`main`,
the console entry point and the one place that turns errors into exit statuses: 0 all good, 1 a
check disagreed, 2 bad input (one line on stderr, no traceback). Each command lives in a module
named for it and registers itself on :data:`app` when imported; the imports at the end of this
module make sure they all are. Anything that imports JAX is imported inside a command, so that
``gradcheck -h`` stays quick.
"""

from __future__ import annotations

import sys

import click

from gradcheck.spec import GradcheckError

__all__ = ["app", "main"]


def _enable_x64() -> None:
    """The CLI verifies in float64: switch JAX to 64-bit for this process only."""
    import jax

    jax.config.update("jax_enable_x64", True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradcheck")
def app() -> None:
    """Prove hand-derived backpropagation right or wrong."""


# Each command returns its exit status (0 ok, 1 disagreement); bad input raises a
# GradcheckError, which main() turns into one line and status 2.


def _error_line(message: str) -> None:
    """Bad input is reported as exactly one line on stderr."""
    click.echo("gradcheck: error: " + " ".join(message.split()), err=True)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: project errors and usage errors become one line on stderr and exit
    status 2; a command's returned int is the exit status."""
    try:
        status = app.main(args=argv, prog_name="gradcheck", standalone_mode=False)
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
    report_command,
    spec_commands,
    train_command,
    verify_command,
)
