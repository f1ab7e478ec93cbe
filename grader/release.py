"""Placeholder until its issue is built."""

import click


@click.command("release")
def release() -> None:
    """Not built yet."""
    raise click.UsageError("not built yet")
