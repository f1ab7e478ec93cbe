"""exercise6 specifics beyond tests/test_fixtures.py: the checks that need a real GPU,
determinism, messages, the simulated GPU counts, and the judges' tables and renderings
checked against what the probes really build."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import types
from collections import OrderedDict

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from grader.checks.exercise6 import judges, probes
from grader.report import Status
from tests.conftest import ROOT, SUBMISSIONS, without_timings
from tests.test_fixtures import GPU_CHECKS

FIXTURES = SUBMISSIONS / "exercise6"


def _load(path, name: str = "exercise6_submission") -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOLUTION = _load(ROOT / "solutions" / "exercise6.py", "exercise6_solution")


# -- graded end to end -------------------------------------------------------------------


def test_gpu_checks_carry_no_points_and_run_only_with_a_gpu(grade_file):
    report = grade_file(ROOT / "solutions" / "exercise6.py", "exercise6")
    assert report.score == report.max_score == 27
    gpu = [c for c in report.checks if c.max_score == 0]
    assert {c.name for c in gpu} == GPU_CHECKS
    for check in gpu:
        if torch.cuda.is_available():
            assert check.status == Status.PASSED, (check.name, check.message)
        else:
            assert (check.status, check.message) == (Status.NOT_RUN, "no GPU")


def test_gpu_checks_still_run_the_students_code_without_a_gpu(grade_file):
    report = grade_file(ROOT / "exercises" / "exercise6.py", "exercise6")
    for check in report.checks:
        if check.name in GPU_CHECKS:
            assert check.status == Status.ERROR and check.message.startswith("not implemented")


def test_same_failing_submission_gives_identical_reports(grade_file):
    reports = [without_timings(grade_file(FIXTURES / "to_device_tuple_as_list.py",
                                          "exercise6")) for _ in range(3)]
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["score"] == 25


def test_a_lost_tuple_is_shrunk_to_the_empty_tuple(grade_file):
    report = grade_file(FIXTURES / "to_device_tuple_as_list.py", "exercise6")
    (failure,) = [c for c in report.checks if c.status == Status.FAILED]
    assert failure.target == "to_device"
    assert "the result should be a tuple, got a list\n  on input obj = ()" in failure.message
    assert failure.counterexample == "objs=[()]"  # the Python that builds it, not the grader's spec


def test_a_split_net_is_shrunk_to_one_linear_layer(grade_file):
    report = grade_file(FIXTURES / "model_device_first_parameter.py", "exercise6")
    (failure,) = [c for c in report.checks if c.status == Status.FAILED]
    assert failure.message.endswith(
        "on input net = nn.Sequential(nn.Linear(1, 1)) with parameters 0.weight on meta, 0.bias on cpu")


# -- simulated GPU counts ---------------------------------------------------------------


def test_simulated_counts_reach_names_imported_from_torch_cuda_and_are_restored():
    module = _load(FIXTURES / "alt_pytree.py")
    originals = torch.cuda.device_count, torch.cuda.is_available
    cases = [[4, 1], [4, None], [1, 1], [0, None]]
    results = probes.try_gpu_results(module, cases)
    assert [r["text"] for r in results] == ["cuda:1", "cuda:0", "cpu", "cpu"]
    assert all(r["type"] == judges.DEVICE for r in results)
    assert [len(r["items"]) for r in probes.try_all_gpus_results(module, [0, 1, 4])] == [1, 1, 4]
    assert (torch.cuda.device_count, torch.cuda.is_available) == originals
    assert (module.device_count, module.is_available) == originals


def test_simulated_counts_are_restored_when_the_students_code_raises():
    originals = torch.cuda.device_count, torch.cuda.is_available

    def try_gpu(i=0):
        assert torch.cuda.device_count() == 4 and torch.cuda.is_available()
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        probes.try_gpu_results(types.SimpleNamespace(try_gpu=try_gpu), [[4, 0]])
    assert (torch.cuda.device_count, torch.cuda.is_available) == originals


def test_importing_the_probes_touches_no_cuda():
    """The worker server imports every probe module before it forks: no CUDA there."""
    code = (
        "import torch\ncalls = []\n"
        "for name in ('device_count', 'is_available', '_lazy_init', 'init'):\n"
        "    setattr(torch.cuda, name, lambda *a, _n=name, **k: calls.append(_n))\n"
        "import grader.checks.exercise6.probes, grader.checks.exercise6.judges\n"
        "print(calls, torch.cuda.is_initialized())\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] False"


def test_the_worker_server_touches_no_cuda():
    """Nothing the worker server imports before it forks starts CUDA: started there, it
    would be broken in every worker, and would have started without the workers' veil."""
    code = (
        "import importlib, torch\n"
        "calls = []\n"
        "for name in ('device_count', 'is_available', '_lazy_init', 'init'):\n"
        "    setattr(torch.cuda, name, lambda *a, _n=name, **k: calls.append(_n))\n"
        "from grader.grading.exercises import probes_modules\n"
        "import grader.sandbox.worker_server, grader.sandbox.worker, grader.sandbox.confine\n"
        "for name in probes_modules():\n"
        "    importlib.import_module(name)\n"
        "print(calls, torch.cuda.is_initialized(), len(probes_modules()) > 6)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] False True"


VEILED = """
import os
import torch
assert os.environ.get("CUDA_VISIBLE_DEVICES") == "", "the machine's GPUs are in sight"
assert not torch.cuda.is_initialized(), "CUDA started before the submission"
assert torch.cuda.device_count() == 0 and not torch.cuda.is_available(), "a real GPU is in sight"
"""


def test_the_students_code_sees_no_real_gpu(grade_file, tmp_path):
    """On every machine, code that asks CUDA itself (at import, say) finds no GPU: the only
    counts it sees are simulated, so count_at_import.py scores the same with a GPU and without."""
    path = tmp_path / "veiled.py"
    path.write_text(VEILED + (ROOT / "solutions" / "exercise6.py").read_text(), encoding="utf-8")
    report = grade_file(path, "exercise6")
    assert report.score == report.max_score, report.problem


def test_only_the_real_gpu_probes_lift_the_veil(monkeypatch):
    from grader.sandbox import confine

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    for machine, inside in (("1", "1"), (None, None)):  # the server's setting; None: every GPU
        monkeypatch.setattr(confine, "_machine_gpus", machine)
        with confine.real_gpus():
            assert os.environ.get("CUDA_VISIBLE_DEVICES") == inside
        assert os.environ["CUDA_VISIBLE_DEVICES"] == ""


# -- the judges' tables and renderings against the probes ----------------------------------


def test_module_table_matches_what_the_probes_build():
    for name, expected in judges.MODULES.items():
        built = probes.MODULES[name]()
        desc = probes.describe(built)
        assert desc["type"] == expected["type"]
        for group in ("parameters", "buffers"):
            assert {k: (v["shape"], v["dtype"]) for k, v in desc[group].items()} == {
                k: (list(shape), dtype) for k, (shape, dtype) in expected[group].items()}
        assert repr(eval(expected["text"], {"nn": nn})) == repr(built)
        assert judges.module_problem(desc, name, "obj", "cpu") is None
        assert "should be on meta" in judges.module_problem(desc, name, "obj", "meta")


def _evaluate(text: str):
    def batch(**fields):
        return probes._namedtuple(tuple(fields))(**fields)

    return eval(text, {"torch": torch, "nn": nn, "OrderedDict": OrderedDict, probes.NAMEDTUPLE: batch})


@settings(max_examples=150, deadline=None)
@given(spec=st.one_of(judges.containers(judges.ALL_CONTAINERS), judges.module_structures()))
def test_rendered_inputs_build_what_the_probes_build(spec):
    built = probes.build(spec)
    assert probes.describe(_evaluate(judges.render(spec))) == probes.describe(built)
    # An object "moved" to where it already is passes every to_device judgement.
    desc = probes.describe(built)
    assert judges.container_problem(spec, desc) is None
    found = judges.found_leaves(desc)
    leaves = list(judges.spec_leaves(spec))
    assert sorted(p for p, d in found.items() if d.get("kind") != "other") == sorted(path for path, _ in leaves)  # noqa: E501
    for path, leaf in leaves:
        if leaf["kind"] == "tensor":
            assert judges.tensor_problem(found[path], leaf, path, "cpu") is None
            assert judges.tensor_problem(found[path], leaf, path, "meta") is not None
        else:
            assert judges.module_problem(found[path], leaf["name"], path, "cpu") is None


@settings(max_examples=100, deadline=None)
@given(spec=judges.containers(judges.ALL_CONTAINERS))
def test_container_judgement_catches_every_retyped_container(spec):
    def retype(obj):
        """The first container found, rebuilt as a list (or as a plain dict)."""
        if isinstance(obj, dict):
            return dict(obj) if type(obj) is not dict else OrderedDict(obj)
        return list(obj) if type(obj) is not list else tuple(obj)

    wrong = probes.describe(retype(probes.build(spec)))
    assert judges.container_problem(spec, wrong) is not None


@settings(max_examples=100, deadline=None)
@given(spec=st.one_of(judges.nets(split=False), judges.nets(split=True)))
def test_net_specs_build_the_nets_the_judges_describe(spec):
    net = probes.build_net(spec)
    names = [name for name, _ in net.named_parameters()]
    assert names == judges.parameter_names(spec)
    assert [str(p.device) for p in net.parameters()] == spec["devices"]
    assert {str(b.device) for b in net.buffers()} <= {spec["buffers"]}
    assert judges.render_net(spec).startswith("nn.Sequential(")
    devices = {p.device for p in net.parameters()}
    outcome = probes.outcome(SOLUTION.model_device, net)
    if len(devices) == 1:
        assert outcome == {"returned": {"type": "torch.device", "text": spec["devices"][0]}}
    else:
        assert "builtins.ValueError" in outcome["raised"] and outcome["message"]


def test_fixed_nets_are_what_their_checks_say():
    for spec in judges.PARAMETERLESS:
        assert not list(probes.build_net(spec).parameters())
    for spec in judges.BUFFERED:
        net = probes.build_net(spec)
        params, buffers = {str(p.device) for p in net.parameters()}, {str(b.device) for b in net.buffers()}
        assert buffers and not (params & buffers)


# -- load_params_to ----------------------------------------------------------------------


def test_a_file_recorded_on_a_gpu_needs_map_location_where_there_is_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    state = judges.saved_state("mlp", 0)
    path = probes._state_file(state, gpu=True)
    with probes.simulated_gpus(types.SimpleNamespace(), 0):
        with pytest.raises(RuntimeError, match="CUDA device"):
            torch.load(path)
        loaded = torch.load(path, map_location="cpu")
    assert all(torch.equal(loaded[key], value) for key, value in state.items())


def test_placement_is_judged_on_meta_and_values_on_the_cpu(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cases = [["mlp", judges.saved_state("mlp", 1)]]
    (on_meta,) = probes.params_loaded_to(SOLUTION, cases, "meta", False)
    assert on_meta["raised"] is None and not judges.wrong_devices(on_meta, "meta")
    assert set(on_meta["state"].values()) == {None}  # meta tensors hold no values to compare
    (on_cpu,) = probes.params_loaded_to(SOLUTION, cases, "cpu", True)
    assert on_cpu["raised"] is None and on_cpu["is_given"]
    assert all(torch.equal(on_cpu["state"][key], value) for key, value in cases[0][1].items())


def test_loading_before_moving_is_judged_by_where_the_net_ends(tmp_path, monkeypatch):
    """Loaded onto meta before the net moves, the copy fails: the probe loads onto the CPU
    instead, so a net moved after loading passes and one never moved stays on the CPU."""
    monkeypatch.chdir(tmp_path)
    cases = [["mlp", judges.saved_state("mlp", 1)]]

    def load_then_move(path, net, device):
        net.load_state_dict(torch.load(path, map_location=device))
        return net.to(device)

    def never_moves(path, net, device):
        net.load_state_dict(torch.load(path, map_location=device))
        return net

    moving, staying = (types.SimpleNamespace(load_params_to=f) for f in (load_then_move, never_moves))
    (moved,) = probes.params_loaded_to(moving, cases, "meta", False)
    assert moved["raised"] is None and moved["retried"] and not judges.wrong_devices(moved, "meta")
    (stayed,) = probes.params_loaded_to(staying, cases, "meta", False)
    assert stayed["retried"] and judges.wrong_devices(stayed, "meta")
    assert torch.load is torch.serialization.load and torch.load.__name__ == "load"  # restored
