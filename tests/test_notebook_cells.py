"""Notebooks run cell by cell (issue 10): IPython syntax translated by IPython, a failing cell
noted and the rest run, missing packages, time limits, no network, and the notes' reading.

The worker side (``grader.sandbox.cells``) runs here in a fresh interpreter per case, since it
installs builtins and blocks sockets in the process it runs in; the whole pipeline is graded
with the notebook fixtures (``tests/submissions/*/nb_*.ipynb``, see ``test_fixtures``).
"""

from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest

from grader.grading import cell_notes
from grader.grading.ipython_syntax import translate_cell
from grader.report import Note
from tests.conftest import ROOT

# -- IPython syntax, translated on the trusted side ------------------------------------


@pytest.mark.parametrize("cell", [
    "%matplotlib inline\nimport torch",
    "torch.fft.fft?\nx = 1",
    "x = 1\nnn.Module??",
    "!nvidia-smi\nfiles = !ls\nx = 1 % 2",
    "for f in files:\n    !echo {f}\nif True:\n    %time y = 1",
    "%pip install d2l==1.0.3",
])
def test_ipython_lines_become_python_with_their_line_numbers(cell):
    out = translate_cell(cell)
    compile(out, "cell", "exec")
    assert out.count("\n") == cell.count("\n")
    for before, after in zip(cell.split("\n"), out.split("\n"), strict=True):
        if not before.lstrip().startswith(("%", "!")) and "?" not in before and "!" not in before:
            assert after == before  # plain Python lines are untouched


def test_help_and_magics_call_get_ipython():
    out = translate_cell("torch.fft.fft?\nfiles = !ls\n%time f()")
    assert "get_ipython().run_line_magic('pinfo', 'torch.fft.fft')" in out
    assert "files = get_ipython().getoutput('ls')" in out
    assert "run_line_magic('time', 'f()')" in out


def test_python_cell_magics_keep_their_body_in_place():
    out = translate_cell("%%time\nclass A:\n    pass\n!ls")
    assert out.split("\n")[:3] == ["", "class A:", "    pass"]
    assert "get_ipython().system('ls')" in out.split("\n")[3]


def test_other_cell_magics_become_one_call_padded_to_their_lines():
    out = translate_cell("%%bash\necho hi\nexit 1")
    assert out.startswith("get_ipython().run_cell_magic('bash', '', ")
    assert out.count("\n") == 2
    compile(out, "cell", "exec")


def test_plain_python_is_left_alone():
    cell = "x = 1 % 2\ny = {'a': 1}\n"
    assert translate_cell(cell) is cell


# -- the worker side, in a fresh interpreter ---------------------------------------------


def run_cells(*cells: str, cell_s: float = 5.0) -> tuple[list[dict], dict]:
    """Run ``cells`` as a notebook's cells 1, 2, …; return the notes and the final names' reprs."""
    lines, spans = [], []
    for number, cell in enumerate(cells, start=1):
        text = translate_cell(cell).split("\n")
        spans.append([number, len(lines) + 1, len(lines) + len(text)])
        lines += [*text, ""]
    script = (
        "import json, sys\nfrom grader.sandbox import cells\n"
        "source, spans, cell_s = json.loads(sys.stdin.read())\nns = {}\n"
        "notes = cells.run_cells(source, 'nb.ipynb', spans, ns, cell_s)\n"
        "print(json.dumps([notes, {k: repr(v)[:80] for k, v in ns.items() if not k.startswith('_')}]))"
    )
    done = subprocess.run([sys.executable, "-c", script], input=json.dumps(["\n".join(lines), spans, cell_s]),
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    notes, names = json.loads(done.stdout.strip().splitlines()[-1])
    return notes, names


def brief(notes: list[dict]) -> list[tuple[int, int, str]]:
    return [(note["cell"], note["line"], note["kind"]) for note in notes]


def test_a_cell_that_raises_is_noted_and_later_cells_run_and_redefinitions_win():
    notes, names = run_cells(
        "def f():\n    return 1", "x = 1\nundefined_name", "def f():\n    return 2\ny = f()"
    )
    assert brief(notes) == [(2, 2, "raised")]
    assert notes[0]["message"] == "NameError: name 'undefined_name' is not defined"
    assert names["x"] == "1" and names["y"] == "2"


def test_a_cell_that_does_not_parse_fails_alone():
    notes, names = run_cells("def broken(:\n    pass", "ok = True")
    assert brief(notes) == [(1, 1, "syntax")] and names["ok"] == "True"
    assert notes[0]["defines"] == ["broken"]


def test_a_cell_with_a_null_byte_fails_alone():
    notes, names = run_cells("x = 1\x00", "ok = True")
    assert brief(notes) == [(1, 0, "syntax")] and names["ok"] == "True"


def test_a_missing_package_spares_the_rest_of_its_cell_and_fails_only_where_used():
    notes, names = run_cells(
        "import json\nfrom d2l import torch as d2l\nimport os.path\nfrom os import sep",
        "d2l.plot([1])\nafter = 1",
        "fine = json.dumps(1)",
    )
    assert brief(notes) == [(1, 2, "import"), (2, 1, "raised")]
    assert notes[0]["message"] == "ModuleNotFoundError: No module named 'd2l'"
    assert (
        "d2l is not installed where this notebook is graded (its import failed at cell 1, line 2)"
        in notes[1]["message"]
    )
    assert {"json", "os", "sep", "fine"} <= set(names) and "after" not in names
    assert notes[1]["defines"] == ["after"]


def test_code_that_handles_a_failed_import_itself_still_sees_it():
    notes, names = run_cells(
        "try:\n    import pandas_not_here\nexcept ImportError:\n    pandas_not_here = None"
    )
    assert notes == [] and names["pandas_not_here"] == "None"


def test_a_failed_import_never_replaces_a_name_already_bound():
    _, names = run_cells("import json as torch", "from d2l import torch")
    assert names["torch"].startswith("<module 'json'")


def test_a_cell_past_its_time_limit_is_stopped_and_the_next_runs():
    notes, names = run_cells("x = 0\nwhile True:\n    x += 1", "after = 1", cell_s=0.5)
    assert (
        brief(notes)[0][::2] == (1, "timeout")
        and notes[0]["message"] == "stopped: the cell ran longer than 0.5 s"
    )
    assert names["after"] == "1"


def test_a_cell_that_swallows_the_first_stop_is_stopped_again():
    notes, names = run_cells(
        "try:\n    while True:\n        pass\nexcept BaseException:\n    pass\nwhile True:\n    pass",
        "after = 1",
        cell_s=0.3,
    )
    assert brief(notes)[0][::2] == (1, "timeout") and names["after"] == "1"


def test_downloads_fail_at_once_and_are_noted():
    notes, _ = run_cells(
        "import urllib.request\nurllib.request.urlopen('http://example.com/data.csv', timeout=30)"
    )
    assert brief(notes) == [(1, 2, "network")]
    assert "no network while grading" in notes[0]["message"]


def test_magics_and_shell_escapes_run_nothing_but_python():
    notes, names = run_cells(
        "files = !ls\n!rm -rf /\n%time y = 41 + 1\n%matplotlib inline\nt = %timeit 1",
        "%%bash\nrm -rf /",
        "%%capture\nz = y\n%pip install torch",
        "display(z)\nhelp_me?",
    )
    assert names["files"] == "[]" and names["y"] == "42" and names["z"] == "42"
    assert brief(notes) == [(1, 1, "skipped"), (1, 2, "skipped"), (2, 1, "skipped"), (3, 3, "skipped")]
    assert notes[1]["message"] == "shell command not run while grading: !rm -rf /"


def test_sys_exit_in_a_cell_ends_only_that_cell():
    notes, names = run_cells("import sys\nsys.exit(3)", "after = 1")
    assert brief(notes) == [(1, 2, "raised")] and names["after"] == "1"


def test_plots_draw_off_screen():
    notes, names = run_cells(
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"
        "import matplotlib\nbackend = matplotlib.get_backend()"
    )
    assert notes == [] and names["backend"].lower() == "'agg'"


# -- the trusted side's reading of the notes -----------------------------------------------


def test_notes_of_the_wrong_form_are_dropped_and_texts_capped():
    raw = [
        {
            "cell": 2,
            "line": 1,
            "kind": "raised",
            "message": "E: " + "x" * 1000,
            "defines": ["MyLinear", "1 bad"],
        },
        {"cell": 99, "line": 1, "kind": "raised", "message": "not a cell of this notebook"},
        {"cell": 2, "line": -1, "kind": "raised", "message": "bad line"},
        {"cell": 2, "line": 1, "kind": "pwned", "message": "bad kind"},
        "not a dict",
    ]
    notes, undefined = cell_notes.read(raw, ((2, 1, 3),))
    assert len(notes) == 1 and len(notes[0].message) == cell_notes.MAX_TEXT
    assert set(undefined) == {"MyLinear"}
    assert cell_notes.read({"not": "a list"}, ()) == ((), {})


def test_a_missing_name_says_which_cell_failed_to_define_it():
    note = Note(cell=7, line=3, kind="raised", message="NameError: name 'd2l' is not defined")
    assert (
        cell_notes.missing_name("MyLinear", (note,), {"MyLinear": note})
        == "`MyLinear` is not defined: cell 7 (line 3) raised NameError: name 'd2l' is not defined"
    )
    assert cell_notes.missing_name("Other", (note,), {}) == (
        "missing name: the submission defines no `Other` (cells that failed: 7; see the notes)"
    )
    assert cell_notes.missing_name("Other", (), {}) == "missing name: the submission defines no `Other`"


def test_a_fresh_worker_skips_the_cells_that_ran_out_of_time_and_may_take_a_limit_per_cell(tmp_path):
    from grader.grading.submission import read_submission
    from grader.sandbox.client import Limits, Sandbox

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell("# n"),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("while True:\n    pass"),
        nbformat.v4.new_code_cell("y = 2"),
    ]
    path = tmp_path / "n.ipynb"
    path.write_text(nbformat.writes(notebook), encoding="utf-8")
    sandbox = Sandbox(launcher=None, submission=read_submission(path), limits=Limits(call_s=2, load_s=4))
    request, timeout = sandbox.load_request()
    assert [span[0] for span in request["cells"]] == [2, 3, 4] and request["cell_s"] == 2
    assert timeout == 4 + 3 * 2
    sandbox.notes = (Note(cell=3, line=2, kind="timeout", message="stopped"),)
    request, timeout = sandbox.load_request()
    assert [span[0] for span in request["cells"]] == [2, 4] and timeout == 4 + 2 * 2


# -- the notes in the report's renderings -----------------------------------------------------


def test_notes_travel_in_the_json_and_show_in_the_terminal_markdown_and_gradescope():
    from grader.render import to_gradescope, to_json, to_markdown, to_terminal
    from grader.report import CheckResult, Isolation, Report, Status

    notes = (
        Note(cell=2, line=3, kind="import", message="ModuleNotFoundError: No module named 'd2l'"),
        Note(cell=9, line=0, kind="skipped", message="\x1b[2Jcell magic not run"),
    )
    check = CheckResult("MyLinear: shape", "MyLinear", Status.PASSED, 1.0, 1.0)
    report = Report(
        "exercise3", "n.ipynb", "0" * 64, (check,), Isolation("full"), "0.1.0", "abc", {}, notes=notes
    )
    data = json.loads(to_json.render(report))
    assert data["notes"][0] == {
        "cell": 2,
        "line": 3,
        "kind": "import",
        "message": "ModuleNotFoundError: No module named 'd2l'",
    }
    assert Report.from_dict(data) == report
    assert Report.from_dict({**data, "notes": []}).notes == ()
    terminal = to_terminal.render(report)
    assert "cell 2, line 3: ModuleNotFoundError: No module named 'd2l'" in terminal
    assert "cell 9: cell magic not run" in terminal and "\x1b" not in terminal  # no terminal control codes
    assert "cell 2, line 3: ModuleNotFoundError" in to_markdown.render(report)
    assert "cell 2, line 3: ModuleNotFoundError" in json.loads(to_gradescope.render(report))["output"]
