"""What grading a notebook cell by cell costs next to grading a .py of the same code, as
ratios measured side by side in one run.

    python benchmarks/notebooks.py [--repeat N]

For each notebook fixture whose cells all run (so that the same code imports as a module),
a .py is made of its code cells; both are graded N times, taking turns to go first, with one
warm worker server (on a busy machine, use a few rounds: single gradings vary by 20%). Prints the medians of
  1. the whole grading (read, worker, cells or import, judges): notebook / .py, per file;
  2. a worker ready to answer (started, cells run or module imported): notebook / .py;
  3. reading a notebook with IPython syntax (translation, IPython's import included once)
     against one without.
Nothing here asserts: the figures go into notes, not into pass or fail.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from grader.grading.engine import grade  # noqa: E402
from grader.grading.exercises import all_exercises  # noqa: E402
from grader.grading.sandbox_setup import start_launcher  # noqa: E402
from grader.grading.submission import read_submission  # noqa: E402
from grader.sandbox.client import Sandbox  # noqa: E402

SUBMISSIONS = ROOT / "tests" / "submissions"
# Notebooks whose cells all run: the same code imports as a .py.
CLEAN = [f"exercise{n}/solution_notebook.ipynb" for n in range(1, 7)] + [
    "exercise3/nb_redefined_later.ipynb", "exercise3/nb_book_mylinear.ipynb",
    "exercise1/nb_book_model_construction.ipynb"]


def as_py(notebook: Path, folder: Path) -> Path:
    cells = nbformat.read(notebook, as_version=4).cells
    path = folder / f"{notebook.parent.name}-{notebook.stem}.py"
    path.write_text("\n\n".join(c.source for c in cells if c.cell_type == "code") + "\n", encoding="utf-8")
    return path


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def ready(launcher, path: Path) -> None:
    sandbox = Sandbox(launcher, read_submission(path))
    sandbox.prepare()
    sandbox.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    repeat = parser.parse_args().repeat
    launcher = start_launcher(plots=False)
    exercises = all_exercises()
    grading: dict[tuple[str, str], list[float]] = {}  # (notebook, kind) -> its times
    loading: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        pairs = [(SUBMISSIONS / name, as_py(SUBMISSIONS / name, Path(folder))) for name in CLEAN]
        ready(launcher, pairs[0][1])  # the server is warm from here on
        for round_ in range(repeat):
            for notebook, py in pairs:
                exercise = exercises[notebook.parent.name]
                order = [("ipynb", notebook), ("py", py)]
                for kind, path in order[::-1] if round_ % 2 else order:  # neither always goes first
                    key = (str(notebook), kind)
                    grading.setdefault(key, []).append(
                        timed(lambda p=path, e=exercise: grade(p, e, launcher=launcher))
                    )
                    loading.setdefault(key, []).append(timed(lambda p=path: ready(launcher, p)))
    launcher.close()
    magics = SUBMISSIONS / "exercise3" / "nb_help_and_magics.ipynb"
    plain = SUBMISSIONS / "exercise3" / "solution_notebook.ipynb"
    first_magics = timed(lambda: read_submission(magics))  # imports IPython
    magic_read = statistics.median(timed(lambda: read_submission(magics)) for _ in range(5))
    plain_read = statistics.median(timed(lambda: read_submission(plain)) for _ in range(5))

    def ratio(times: dict[tuple[str, str], list[float]]) -> str:
        """Medians per file (one slow outlier on a busy machine moves a mean by 10%), then the
        median of the notebooks' ratios to their .py."""
        medians = {key: statistics.median(values) for key, values in times.items()}
        ratios = [medians[(str(nb), "ipynb")] / medians[(str(nb), "py")] for nb, _ in pairs]
        nb = statistics.median(v for (_, kind), v in medians.items() if kind == "ipynb")
        py = statistics.median(v for (_, kind), v in medians.items() if kind == "py")
        return (
            f"{nb:.3f} s vs {py:.3f} s; ratio per file: median {statistics.median(ratios):.3f} "
            f"(from {min(ratios):.2f} to {max(ratios):.2f})"
        )

    print(f"{len(pairs)} notebooks x {repeat}, notebook (cell by cell) vs .py (one module):")
    print(f"  whole grading   {ratio(grading)}")
    print(f"  worker ready    {ratio(loading)}")
    print(
        f"  reading with IPython syntax: first {first_magics * 1000:.0f} ms (imports IPython), then "
        f"{magic_read * 1000:.1f} ms vs {plain_read * 1000:.1f} ms without"
    )


if __name__ == "__main__":
    main()
