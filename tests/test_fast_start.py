"""grader/fast_start.py: imports with the garbage collector paused, then frozen; and the
collector back at work afterwards, in the grading process and in every worker."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from grader import fast_start
from tests.conftest import ROOT

# A reference cycle, then enough new containers that the collector runs by itself (its
# threshold is 700): the cycle is gone only if the collector is at work.
CYCLE_FREED = textwrap.dedent("""
    import weakref
    class _Node: pass
    _node = _Node(); _node.me = _node; _ref = weakref.ref(_node); del _node
    _keep = [[] for _ in range(5000)]
    cycle_freed = _ref() is None
    del _keep
""")

WINDOW = textwrap.dedent("""
    import gc, json
    from grader.fast_start import imports_unscanned
    frozen = gc.get_freeze_count()
    with imports_unscanned():
        paused = not gc.isenabled()
        import fractions, decimal  # not imported yet: objects made in the window
    frozen = gc.get_freeze_count() - frozen
    enabled_after = gc.isenabled()
    """) + CYCLE_FREED + textwrap.dedent("""
    try:
        with imports_unscanned():
            raise ValueError
    except ValueError:
        pass
    enabled_after_error = gc.isenabled()
    gc.disable()
    with imports_unscanned():
        pass
    stays_disabled = not gc.isenabled()
    print(json.dumps({"paused": paused, "frozen": frozen, "enabled_after": enabled_after,
                      "cycle_freed": cycle_freed, "enabled_after_error": enabled_after_error,
                      "stays_disabled": stays_disabled}))
""")


def test_imports_run_with_the_collector_paused_and_what_they_made_is_frozen():
    # In a process of its own: freezing would keep the test session's garbage for good.
    run = subprocess.run([sys.executable, "-c", WINDOW], capture_output=True, text=True, cwd=ROOT, check=True)
    found = json.loads(run.stdout)
    assert found["paused"]
    assert found["frozen"] > 1000  # two modules' functions, classes and constants
    assert found["enabled_after"] and found["cycle_freed"]  # collecting again, by itself
    assert found["enabled_after_error"]
    assert found["stays_disabled"]  # a caller that had it off keeps it off


def test_a_submissions_reference_cycles_are_collected_in_its_worker(grade_file, tmp_path):
    """The worker server imports with the collector off; its workers must not inherit that,
    or a submission's garbage would pile up to the memory limit."""
    path = tmp_path / "cycles.py"
    solution = (ROOT / "solutions" / "exercise3.py").read_text()
    path.write_text(CYCLE_FREED + 'assert cycle_freed, "no garbage collection in the worker"\n' + solution)
    report = grade_file(path)
    assert report.problem == "" and report.score == report.max_score, report.problem


def test_numpys_blas_gets_one_thread_unless_the_user_chose(monkeypatch):
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    fast_start.one_blas_thread()
    assert fast_start.os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    fast_start.one_blas_thread()
    assert fast_start.os.environ["OPENBLAS_NUM_THREADS"] == "3"
