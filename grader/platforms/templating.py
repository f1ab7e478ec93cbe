"""The text files the platform commands write: templates shipped in ``templates/``."""

from __future__ import annotations

import re
from importlib.resources import files

# @NAME@ markers: neither bash's ${...} nor GitHub's ${{ ... }} can be mistaken for one.
MARKER = re.compile(r"@([A-Z_]+)@")


def template(name: str) -> str:
    """The text of ``templates/<name>``, as shipped with the package."""
    return files("grader.platforms").joinpath("templates", name).read_text(encoding="utf-8")


def fill(text: str, **values: str) -> str:
    """``text`` with each @NAME@ replaced by ``values[NAME]``; every marker must be given."""
    missing = set(MARKER.findall(text)) - set(values)
    if missing:
        raise KeyError(f"no value for {', '.join(sorted(missing))}")
    return MARKER.sub(lambda match: values[match.group(1)], text)
