"""The ``gradcheck`` command line: the only module that prints or exits.

Exit status: 0 all good, 1 a check disagreed, 2 bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import json
import sys

import click

from gradcheck.spec import GradcheckError, spec_json_schema


def _enable_x64() -> None:
    """The CLI verifies in float64: switch JAX to 64-bit for this process only."""
    import jax

    jax.config.update("jax_enable_x64", True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gradcheck")
def app() -> None:
    """Prove hand-derived backpropagation right or wrong."""


@app.command()
def schema() -> int:
    """Print the JSON Schema of a network spec (TOML file) as JSON."""
    click.echo(json.dumps(spec_json_schema(), indent=2))
    return 0


# Each command below returns its exit status (0 ok, 1 disagreement); bad input raises a
# GradcheckError, which main() turns into one line and status 2.

# --- golden (issue 2) -----------------------------------------------------------------------

# --- verify (issue 3) -----------------------------------------------------------------------

# --- train (issue 5) ------------------------------------------------------------------------

# --- report (issue 4) -----------------------------------------------------------------------


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


if __name__ == "__main__":
    main()
