"""What the HTML pages share: escaping, the page around a body, its style and its policy.

A page is one self-contained file: style inline, figures as inline SVG, at most one inline
script. Its Content-Security-Policy forbids everything else (no network, no other script,
no plugins), so that even text that escaped escaping could not run or fetch anything; and
every text from a report goes through ``text``/``attr``, which escape it.
"""

from __future__ import annotations

import base64
import hashlib
import html

from grader.render import text as rules

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 64rem; padding: 0 1rem;
       color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
pre { background: #f6f6f6; padding: .5rem .7rem; overflow-x: auto; white-space: pre-wrap; margin: .3rem 0; }
td ul { margin: 0; padding-left: 1rem; } td.status { white-space: nowrap; }
.passed { color: #1e7d32; } .failed, .error { color: #b3261e; } .not-run { color: #8a6d00; }
.note { color: #555; } .label { font-weight: 600; margin: .6rem 0 0; }
section.check { border-left: 3px solid #b3261e; padding: 0 0 0 .8rem; margin: 1.2rem 0; }
figure.plot { margin: .5rem 0; } figure.plot svg { max-width: 100%; height: auto; display: block; }
figure.plot figcaption { font-size: .85rem; color: #555; }
th button { all: unset; cursor: pointer; font-weight: 600; }
th button:focus-visible { outline: 2px solid #1f77b4; }
th[aria-sort=ascending] button::after { content: " ▲"; }
th[aria-sort=descending] button::after { content: " ▼"; }
"""


def text(value: object) -> str:
    """Text of a report as HTML text: cleaned of control characters, then escaped."""
    return html.escape(rules.clean(str(value)), quote=True)


def attr(value: object) -> str:
    """A value for an attribute in double quotes."""
    return text(value)


def page(title: str, body: str, script: str = "") -> str:
    """The whole document. ``title`` is escaped here; ``body`` is HTML already."""
    sources = "'none'"
    if script:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        sources = f"'sha256-{digest}'"
    policy = (
        f"default-src 'none'; script-src {sources}; style-src 'unsafe-inline'; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    tail = f"<script>{script}</script>\n" if script else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{text(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"{body}\n{tail}</body>\n</html>\n"
    )


def pre(value: str) -> str:
    return f"<pre>{text(value)}</pre>"


def figure(svg: str, caption: str) -> str:
    """An inline SVG from ``grader.render.figures``, with an escaped caption."""
    label = attr(caption)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
    return f'<figure class="plot">{svg}<figcaption>{text(caption)}</figcaption></figure>'
