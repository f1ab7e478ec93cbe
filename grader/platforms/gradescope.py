"""Placeholder until its issue is built."""

import click


@click.command("gradescope-autograder")
def gradescope_autograder() -> None:
    """Not built yet."""
    raise click.UsageError("not built yet")
