"""Placeholder until its issue is built."""

import click


@click.command("batch")
def batch() -> None:
    """Not built yet."""
    raise click.UsageError("not built yet")


@click.command("merge")
def merge() -> None:
    """Not built yet."""
    raise click.UsageError("not built yet")
