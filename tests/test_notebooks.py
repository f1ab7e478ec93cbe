"""The exercise notebooks are generated from their percent-format ``.py`` sources."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.course.notebooks import main, notebook_text, py_to_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "exercises").glob("*.py"))


def _api_names(code: str) -> list[str]:
    """Top-level class and function names, in order of definition."""
    return [
        node.name
        for node in ast.parse(code).body
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
    ]


def _percent(cells: list[tuple[str, str]]) -> str:
    """Percent-format text for (kind, source) cells, written the way exercises are."""
    parts = []
    for kind, source in cells:
        if kind == "markdown":
            body = "\n".join(f"# {line}" if line else "#" for line in source.split("\n"))
            parts.append(f"# %% [markdown]\n{body}\n")
        else:
            parts.append(f"# %%\n{source}\n")
    return "\n\n".join(parts)


def test_there_are_exercise_sources():
    assert SOURCES, "no exercises/*.py found"


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_notebook_is_up_to_date(source: Path):
    notebook = source.with_suffix(".ipynb")
    assert notebook.exists(), f"{notebook.name} is missing: run python -m grader.course.notebooks"
    expected = notebook_text(source.read_text(encoding="utf-8"))
    assert notebook.read_text(encoding="utf-8") == expected, (
        f"{notebook.name} is stale: run python -m grader.course.notebooks exercises/{source.name}"
    )


@pytest.mark.parametrize("source", SOURCES, ids=lambda path: path.name)
def test_notebook_defines_the_same_api(source: Path):
    nb = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    nbformat.validate(nb)
    code = "\n\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    from_py = _api_names(source.read_text(encoding="utf-8"))
    assert from_py, f"{source.name} defines no classes or functions"
    assert _api_names(code) == from_py


def test_cells_split_on_markers():
    text = _percent(
        [
            ("markdown", "# Title\n\nSome *text*.\n\n- a list\n- `code`"),
            ("code", "import torch\n\n\ndef f(x):\n    return x  # %% not a marker"),
            ("markdown", "Second"),
            ("code", "%%time\nx = 1"),
        ]
    )
    nb = py_to_notebook(text)
    assert [cell.cell_type for cell in nb.cells] == ["markdown", "code", "markdown", "code"]
    assert nb.cells[0].source == "# Title\n\nSome *text*.\n\n- a list\n- `code`"
    assert nb.cells[1].source == "import torch\n\n\ndef f(x):\n    return x  # %% not a marker"
    assert nb.cells[2].source == "Second"
    assert nb.cells[3].source == "%%time\nx = 1"
    assert [cell.id for cell in nb.cells] == ["cell-0", "cell-1", "cell-2", "cell-3"]
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.metadata.language_info.name == "python"
    nbformat.validate(nb)


def test_trailing_blank_lines_are_trimmed():
    nb = py_to_notebook("# %% [markdown]\n# Text\n#\n\n\n# %%\nx = 1\n\n   \n\n")
    assert [cell.source for cell in nb.cells] == ["Text", "x = 1"]


def test_text_before_the_first_marker_is_a_code_cell():
    nb = py_to_notebook("import os\n\n# %%\nx = 1\n")
    assert [(cell.cell_type, cell.source) for cell in nb.cells] == [
        ("code", "import os"),
        ("code", "x = 1"),
    ]


def test_output_is_deterministic():
    text = (ROOT / "exercises" / "exercise3.py").read_text(encoding="utf-8")
    assert notebook_text(text) == notebook_text(text)
    assert notebook_text(text).endswith("}\n")


_markdown_line = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp"), blacklist_characters="\x85"),
    max_size=30,
).filter(lambda line: not line.startswith("%%"))
_markdown = (
    st.lists(_markdown_line, min_size=1, max_size=6)
    .map("\n".join)
    .filter(lambda source: source.strip() and source.split("\n")[-1].strip())
)


@given(st.lists(_markdown, min_size=1, max_size=4))
def test_markdown_round_trips(sources: list[str]):
    cells = [("markdown", source) for source in sources]
    nb = py_to_notebook(_percent(cells))
    assert [cell.source for cell in nb.cells] == sources
    assert all(cell.cell_type == "markdown" for cell in nb.cells)


def test_main_writes_then_check_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    source = tmp_path / "exercise9.py"
    source.write_text("# %% [markdown]\n# Hello\n\n# %%\nx = 1\n", encoding="utf-8")
    assert main([str(source)]) == 0
    notebook = source.with_suffix(".ipynb")
    assert notebook.read_text(encoding="utf-8") == notebook_text(source.read_text())
    assert main(["--check", str(source)]) == 0


def test_check_reports_stale_and_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    fresh, stale, missing = (tmp_path / f"exercise{i}.py" for i in (7, 8, 9))
    for source in (fresh, stale, missing):
        source.write_text("# %%\nx = 1\n", encoding="utf-8")
    assert main([str(fresh), str(stale)]) == 0
    stale.write_text("# %%\nx = 2\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["--check", str(fresh), str(stale), str(missing)]) == 1
    out = capsys.readouterr().out
    assert "exercise7.ipynb" not in out
    assert "exercise8.ipynb: out of date" in out
    assert "exercise9.ipynb: missing" in out
    assert not missing.with_suffix(".ipynb").exists(), "--check must write nothing"
