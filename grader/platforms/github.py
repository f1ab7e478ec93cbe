"""Placeholder until its issue is built."""

import click


@click.command("init-ci")
def init_ci() -> None:
    """Not built yet."""
    raise click.UsageError("not built yet")
