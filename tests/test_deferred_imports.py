"""torch's deferred imports (grader/deferred_imports.py): optimizers step and traces check
their outputs without importing dynamo or DTensor, to the same numbers, and anything else
gets the real modules."""

from __future__ import annotations

import json
import subprocess
import sys

TRAIN = """
import json, sys, torch
from grader import deferred_imports
if sys.argv[1] == "stand-in":
    deferred_imports.install()
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
for make in (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), torch.optim.Adam, torch.optim.AdamW):
    optimizer = make(net.parameters())
    for _ in range(3):
        optimizer.zero_grad()
        net(torch.randn(5, 4)).pow(2).sum().backward()
        optimizer.step()
module = sys.modules.get("torch._dynamo")
real = module is not None and not isinstance(module, deferred_imports._StandIn)
print(json.dumps({"real_dynamo": real, "params": [p.detach().flatten().tolist() for p in net.parameters()]}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def test_optimizers_step_without_dynamo_and_to_the_same_numbers() -> None:
    with_stand_in = _run(TRAIN, "stand-in")
    with_dynamo = _run(TRAIN, "real")
    assert not with_stand_in["real_dynamo"]
    assert with_dynamo["real_dynamo"]  # else this test shows nothing: torch changed
    assert with_stand_in["params"] == with_dynamo["params"]  # bit for bit


def test_anything_else_gets_the_real_module() -> None:
    code = """
import json, sys, torch
from grader import deferred_imports
deferred_imports.install()
compiled = torch.compile(lambda x: x.sin() + 1, backend="eager")
value = compiled(torch.zeros(3)).tolist()
import torch._dynamo.config
print(json.dumps({"value": value, "module": type(sys.modules["torch._dynamo"]).__name__,
                  "limit": torch._dynamo.config.cache_size_limit > 0}))
"""
    assert _run(code) == {"value": [1.0, 1.0, 1.0], "module": "module", "limit": True}


def test_introspection_in_the_middle_of_an_import_leaves_it_alone() -> None:
    # torch.jit.trace's output check imports torch.distributed.tensor, whose import walks
    # every module with inspect.getmodule: importing dynamo there was a circular import.
    code = """
import json, sys, tempfile, torch
from grader import deferred_imports
deferred_imports.install()
with tempfile.TemporaryDirectory() as folder:
    torch.jit.trace(torch.nn.Linear(2, 2), torch.zeros(1, 2)).save(folder + "/net.pt")
print(json.dumps({"module": type(sys.modules["torch._dynamo"]).__name__}))
"""
    assert _run(code) == {"module": "_StandIn"}


def test_a_trace_checks_its_outputs_without_importing_dtensor() -> None:
    code = """
import json, sys, tempfile, torch
from grader import deferred_imports
if sys.argv[1] == "deferred":
    deferred_imports.install()
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
with tempfile.TemporaryDirectory() as folder:
    torch.jit.trace(net, torch.randn(2, 3)).save(folder + "/net.pt")
    loaded = torch.jit.load(folder + "/net.pt")
print(json.dumps({"dtensor": "torch.distributed.tensor" in sys.modules,
                  "outputs": loaded(torch.ones(2, 3)).tolist()}))
"""
    deferred, plain = _run(code, "deferred"), _run(code, "plain")
    assert not deferred["dtensor"]
    assert plain["dtensor"]  # else this test shows nothing: torch changed
    assert deferred["outputs"] == plain["outputs"]
