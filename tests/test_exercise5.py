"""exercise5 specifics beyond tests/test_fixtures.py: messages, determinism, files that are
never unpickled on the trusted side, the judges' inputs, and the judges' recomputed training
matching the workers' bit for bit."""

from __future__ import annotations

import pytest
import torch
from hypothesis import find

from grader.checks import common_probes
from grader.checks.exercise5 import judges, probes, training
from grader.grading.submission import read_submission
from grader.report import Status
from grader.sandbox.client import Limits, Sandbox
from tests.conftest import ROOT, SUBMISSIONS, TEST_LIMITS, without_timings

FIXTURES = SUBMISSIONS / "exercise5"
SOLUTION = ROOT / "solutions" / "exercise5.py"


def failures(report) -> dict[str, object]:
    return {c.name: c for c in report.checks if c.status != Status.PASSED}


def test_same_failing_submission_gives_identical_reports(grade_file):
    reports = [without_timings(grade_file(FIXTURES / "checkpoint_no_optimizer.py",
                                          "exercise5")) for _ in range(3)]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["score"] == 24


def test_saving_the_whole_module_fails_saying_why(grade_file):
    report = grade_file(FIXTURES / "save_params_whole_module.py", "exercise5")
    (failure,) = failures(report).values()
    assert failure.target == "save_params"
    assert "torch.load(path, weights_only=True) cannot read" in failure.message
    assert "pickled torch.nn.modules.container.Sequential object" in failure.message
    assert "save net.state_dict()" in failure.message
    assert failure.counterexample.startswith("case=")


def test_a_resume_failure_names_the_missing_state(grade_file):
    report = grade_file(FIXTURES / "checkpoint_no_optimizer.py", "exercise5")
    found = failures(report)
    sgd = found["save_checkpoint/load_checkpoint: SGD with momentum resumes bit-for-bit"]
    adam = found["save_checkpoint/load_checkpoint: Adam resumes bit-for-bit"]
    assert "holds no optimizer state: the momentum buffers" in sgd.message
    assert "holds no optimizer state: Adam's moment estimates" in adam.message
    assert "checkpointed after step 1" in sgd.message  # the shrunk case: two steps, saved after one


def test_an_epoch_that_is_saved_but_not_returned_is_told_apart(grade_file, tmp_path):
    source = SOLUTION.read_text(encoding="utf-8")
    patched = source.replace('    return checkpoint["epoch"]\n', "    checkpoint['epoch']\n")
    assert patched != source
    path = tmp_path / "forgets_return.py"
    path.write_text(patched, encoding="utf-8")
    report = grade_file(path, "exercise5")
    (failure,) = failures(report).values()
    assert failure.name == "save_checkpoint/load_checkpoint: returns the saved epoch"
    assert "returned None" in failure.message
    assert "the checkpoint holds 10: load_checkpoint must return it" in failure.message


EVIL = '''
import torch


class Payload:
    """Unpickling this opens (creates) the marker file: what a trusted side must never do."""

    def __reduce__(self):
        return (open, ({marker!r}, "w"))


def save_tensors(obj, path):
    torch.save({{"obj": obj, "payload": Payload()}}, path)


def load_tensors(path):
    return torch.load(path)


def save_params(net, path):
    torch.save({{"state": net.state_dict(), "payload": Payload()}}, path)


def load_params(net, path):
    net.load_state_dict(torch.load(path))
    return net.eval()


def save_checkpoint(path, model, optimizer, epoch):
    torch.save({{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "payload": Payload()}}, path)


def load_checkpoint(path, model, optimizer):
    return torch.load(path)["epoch"]
'''


def test_files_are_never_unpickled_on_the_trusted_side(grade_file, tmp_path):
    marker = tmp_path / "unpickled"
    path = tmp_path / "evil.py"
    path.write_text(EVIL.format(marker=str(marker)), encoding="utf-8")
    report = grade_file(path, "exercise5")
    assert not marker.exists()
    found = failures(report)
    for name in ("save_tensors: writes a file torch.load(path, weights_only=True) reads",
                 "save_params: writes net.state_dict(), readable with weights_only=True",
                 "save_checkpoint: writes a file torch.load(path, weights_only=True) reads"):
        assert "cannot read" in found[name].message and "pickled io.open object" in found[name].message
    assert all(c.fault in ("student", "") for c in found.values())  # never the grader's
    assert "load_params: the clone's outputs equal the original's exactly" not in found  # judged alone


def test_the_tensor_inputs_cover_what_the_issue_asks():
    """``find`` raises unless the judges' strategy makes such a tensor."""
    strategy = judges.any_tensors()
    find(strategy, lambda t: t.dtype == torch.bfloat16 and not t.is_contiguous())
    find(strategy, lambda t: t.numel() == 0 and t.dim() >= 2)
    find(strategy, lambda t: t.storage_offset() > 0)
    big = find(strategy, lambda t: t.dtype == torch.int64 and bool((t.abs() > 2**53).any()))
    assert not torch.equal(big.double().long(), big)  # a detour through float64 would change it


@pytest.fixture(scope="module")
def solution_sandbox(launcher):
    sandbox = Sandbox(launcher, read_submission(SOLUTION), TEST_LIMITS)
    yield sandbox
    sandbox.close()


@pytest.mark.parametrize("kind", [training.SGD, training.ADAM])
def test_training_in_a_worker_matches_the_judges_recomputation_bit_for_bit(solution_sandbox, kind):
    """The resume checks compare a worker's parameters with the judges' own training, exactly."""
    generator = torch.Generator().manual_seed(0)
    for seed in range(12):
        sizes = [1 + seed % 5, 1 + seed % 6, 1 + seed % 3]
        n = 2 + seed % 4
        batches = [[torch.randn(1 + i % 4, sizes[0], generator=generator),
                    torch.randn(1 + i % 4, sizes[-1], generator=generator)] for i in range(n)]
        case = {"sizes": sizes, "seed": seed, "batches": batches, "k": 1 + seed % (n - 1)}
        result = judges.run_checkpoint(solution_sandbox, kind, case, epoch=5)
        expected = training.parameters(judges.trained(kind, case, n)[0])
        run = judges.recomputed(kind, case)  # one run, its state copied at step k
        for name, value in expected.items():
            assert torch.equal(result["uninterrupted"][name], value), (seed, name)
            assert torch.equal(result["resumed"][name], value), (seed, name)
            assert torch.equal(run.final[name], value), (seed, name)
        at_k, optimizer = judges.trained(kind, case, case["k"])
        assert all(torch.equal(run.model_state[name], value) for name, value in at_k.state_dict().items())
        states = optimizer.state_dict()["state"].values()
        moments = [t for s in states for key, t in s.items() if key != "step"]
        assert len(moments) == len(run.optimizer_tensors) > 0
        assert all(torch.equal(a, b) for a, b in zip(moments, run.optimizer_tensors, strict=True))


def test_a_worker_steps_optimizers_without_importing_dynamo(launcher, tmp_path):
    """torch.optim imports torch._dynamo on first use (~1 s, inside a check's time limit):
    the worker server's stand-in (grader/deferred_imports.py) must reach its workers."""
    path = tmp_path / "exercise5.py"
    path.write_text(
        "import sys\nimport torch\nfrom torch import nn\n\n"
        "class Report(nn.Module):\n"
        "    def forward(self, X):\n"
        "        weight = nn.Parameter(torch.ones(2))\n"
        "        for optimizer in (torch.optim.SGD([weight], lr=0.1), torch.optim.Adam([weight])):\n"
        "            weight.sum().backward()\n"
        "            optimizer.step()\n"
        "        return torch.tensor([float(type(sys.modules['torch._dynamo']).__name__ == '_StandIn')])\n")
    sandbox = Sandbox(launcher, read_submission(path), TEST_LIMITS)
    try:
        result = sandbox.run(common_probes.module_outputs, "Report", [], [torch.zeros(1)])
    finally:
        sandbox.close()
    assert result["outputs"][0].tolist() == [1.0]


# -- save_model / load_model: where load_model runs -------------------------------------------

WHAT_LOAD_MODEL_SEES = """
import torch
PLANTED = []


class Secret(torch.nn.Module):
    pass


PLANTED.append("top-level code ran")


def load_model(path):
    class Seen(torch.nn.Module):
        def forward(self, x):
            seen = [float("Secret" in globals()), float(len(PLANTED)), float(torch.load(path).sum())]
            return torch.tensor(seen)
    return Seen()
"""


def _file_bytes(tmp_path, value: torch.Tensor) -> torch.Tensor:
    torch.save(value, tmp_path / "saved.pt")
    return torch.frombuffer(bytearray((tmp_path / "saved.pt").read_bytes()), dtype=torch.uint8)


def test_load_model_runs_where_the_submissions_classes_and_top_level_code_are_not(launcher, tmp_path):
    path = tmp_path / "exercise5.py"
    path.write_text(WHAT_LOAD_MODEL_SEES, encoding="utf-8")
    data = _file_bytes(tmp_path, torch.full((3,), 2.0))
    sandbox = Sandbox(launcher, read_submission(path), TEST_LIMITS)
    try:
        whole = sandbox.run(probes.loaded_model, data, [torch.zeros(1)])
        alone = sandbox.functions_only().run(probes.loaded_model, data, [torch.zeros(1)])
    finally:
        sandbox.close()
    assert whole["outputs"][0].tolist() == [1.0, 1.0, 6.0]  # the whole module: class and list filled
    assert alone["outputs"][0].tolist() == [0.0, 0.0, 6.0]  # its function runs; no class, no top-level code


PLANTS_THE_CLASS = """
import __main__

from grader.checks.exercise5.nets import course_model_class

__main__.CourseModel = course_model_class()  # the grader's class, planted where a pickle looks for it
"""


def test_a_pickled_model_fails_where_its_class_is_not_defined_even_if_the_file_plants_it(
    grade_file, tmp_path
):
    source = (FIXTURES / "model_pickled.py").read_text(encoding="utf-8") + PLANTS_THE_CLASS
    path = tmp_path / "plants_the_class.py"
    path.write_text(source, encoding="utf-8")
    report = grade_file(path, "exercise5")
    (failure,) = failures(report).values()
    assert (
        failure.name
        == "save_model/load_model: load_model rebuilds the model where the net's class is not defined"
    )
    assert "Can't get attribute 'CourseModel'" in failure.message and "torch.jit.trace" in failure.message


def test_a_load_model_that_needs_a_class_of_the_file_is_told_so(grade_file, tmp_path):
    source = SOLUTION.read_text(encoding="utf-8")
    patched = source.replace(
        "    return torch.jit.load(path)\n",
        "    return Rebuilt(torch.jit.load(path))\n\n\nclass Rebuilt(nn.Module):\n"
        "    def __init__(self, inner):\n        super().__init__()\n        self.inner = inner\n\n"
        "    def forward(self, X):\n        return self.inner(X)\n",
    )
    assert patched != source
    path = tmp_path / "needs_a_class.py"
    path.write_text(patched, encoding="utf-8")
    report = grade_file(path, "exercise5")
    (failure,) = failures(report).values()
    assert (
        failure.name
        == "save_model/load_model: load_model rebuilds the model where the net's class is not defined"
    )
    assert "NameError" in failure.message and "not an import, a function or a constant" in failure.message


def test_a_model_saved_with_torch_export_passes_under_the_default_time_limits(grade_file, tmp_path):
    """torch.export is correct too. Its first call in a worker imports its machinery (about
    two seconds on a busy machine, over the tests' short limits), hence the default limits."""
    source = SOLUTION.read_text(encoding="utf-8")
    patched = source.replace(
        "    torch.jit.trace(net, example).save(path)\n",
        "    torch.export.save(torch.export.export(net, (example,)), path)\n",
    )
    patched = patched.replace(
        "    return torch.jit.load(path)\n",
        "    return _program(path).module()\n\n\ndef _program(path):\n    return torch.export.load(path)\n",
    )
    path = tmp_path / "exported.py"
    path.write_text(patched, encoding="utf-8")
    report = grade_file(path, "exercise5", limits=Limits())
    assert not failures(report) and report.score == report.max_score


RANDOM_AT_IMPORT = '''
import torch
from torch import nn

DRAWN = torch.rand(3)  # at import, from the random state the worker started with

class CenteredLayer(nn.Module):
    def forward(self, X):
        return DRAWN
'''


def test_what_a_submission_draws_at_import_is_the_same_in_every_worker(tmp_path):
    """torch seeds each process at random, and exercise5's probes warm the JIT up in the
    worker server with random layers of their own: a submission that draws at import (a
    notebook's data) must still draw the same, whichever server forked its worker."""
    from grader.checks.exercise3 import probes as probes3
    from grader.grading.exercises import all_exercises
    from grader.grading.sandbox_setup import start_launcher

    path = tmp_path / "exercise3.py"
    path.write_text(RANDOM_AT_IMPORT)
    drawn = []
    for names in (["exercise3"], ["exercise3"], ["exercise3", "exercise5"]):
        launcher = start_launcher([path], [all_exercises()[name] for name in names])
        sandbox = Sandbox(launcher, read_submission(path), Limits())
        try:
            drawn.append(sandbox.run(probes3.centered_outputs, [torch.ones(1)])[0])
        finally:
            sandbox.close()
            launcher.close()
    assert torch.equal(drawn[0], drawn[1]) and torch.equal(drawn[0], drawn[2])
