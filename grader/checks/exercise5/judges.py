"""Judges for exercise5 (file I/O and checkpoints). They run in the grader's process, never
beside student code. Files the student's code wrote come back as bytes and are opened here
only with ``torch.load(weights_only=True)`` (see ``saved``); what the files and the loaded
objects must hold is recomputed here with the same nets and training loops the probes use
(see ``training``), from the initial values and data the judges send.

Each function is judged on its own contract where the file format is fixed: save_params by
the file it writes, load_params on a file of a ``state_dict`` written by the probe. Where the
format is the student's choice (save_tensors, checkpoints), the pair is judged by round trip.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from functools import cache
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st

from grader.authoring import (
    Fail,
    budget,
    check,
    choice,
    expect,
    expect_close,
    expect_shape,
    expect_tensor,
    on_input,
    paired,
    rows,
    shapes,
    show,
    tensors,
)
from grader.checks.exercise5 import nets, probes, saved, training

WEIGHTS_ONLY_ADVICE = "save tensors, or dicts and lists of them, not objects"

# -- save_tensors / load_tensors -----------------------------------------------------------

INT64_SCALE = 2**55 + 1  # int64 values that float64 cannot hold exactly
INT32_SCALE = 2**23 + 1  # int32 values that float32 cannot hold exactly
ROUND_TRIP = "load_tensors(path) after save_tensors(X, path)"


def _as_dtype(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Multiples of 1/8 in [-16, 16) made into ``dtype``, using its range."""
    steps = (values * 8).to(torch.int64)  # -128 .. 127
    if dtype == torch.int64:
        return steps * INT64_SCALE
    if dtype == torch.int32:
        return (steps * INT32_SCALE).to(torch.int32)
    if dtype == torch.uint8:
        return (steps % 256).to(torch.uint8)
    if dtype == torch.bool:
        return steps > 0
    return values.to(dtype)


DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.uint8,
          torch.bool]
VIEWS = ("whole", "transposed", "every other row", "offset")


@st.composite
def any_tensors(draw: st.DrawFn) -> torch.Tensor:
    """A tensor of any dtype and shape (zero-size too), maybe a non-contiguous view or one
    that starts inside its storage."""
    dtype = draw(_DTYPE_CHOICES)
    base = _as_dtype(draw(tensors(shapes(0, 3, min_side=0, max_side=4), dtype=torch.float64)), dtype)
    view = draw(_VIEW_CHOICES)
    if view == "transposed" and base.dim() >= 2:
        return base.transpose(0, -1)
    if view == "every other row" and base.dim() >= 1:
        return base[::2]
    if view == "offset" and base.dim() >= 1:
        return base[1:]
    return base


# Built once: hypothesis validates a strategy on its first draw, which cost more than the
# drawing where these were built anew for every example (strategies.py says more).
_DTYPE_CHOICES = st.sampled_from(DTYPES)
_VIEW_CHOICES = st.sampled_from(VIEWS)
_ITEMS = st.lists(any_tensors(), max_size=4)
_NAMES = st.text("abcdefghijklmnopqrstuvwxyz._0123456789", min_size=1, max_size=8)


@cache
def _keys(count: int) -> st.SearchStrategy[list[str]]:
    return st.lists(_NAMES, min_size=count, max_size=count, unique=True)


@st.composite
def containers(draw: st.DrawFn) -> list[torch.Tensor] | dict[str, torch.Tensor]:
    items = draw(_ITEMS)
    if draw(st.booleans()):
        return items
    keys = draw(_keys(len(items)))
    return dict(zip(keys, items, strict=True))


def expect_same_tensor(got: Any, expected: torch.Tensor, what: str, **inputs: Any) -> None:
    """``got`` has ``expected``'s dtype, shape and every value, exactly."""
    got = expect_tensor(got, what, **inputs)
    expect(got.dtype == expected.dtype,
           lambda: f"{what} has dtype {got.dtype}, expected {expected.dtype}" + on_input(inputs))
    expect_shape(got, tuple(expected.shape), what, **inputs)
    if not torch.equal(got, expected):
        index = tuple(int(i) for i in torch.nonzero(got != expected)[0])
        where = f" at index {index}" if index else ""
        raise Fail(
            f"{what} has other values{where}: got {show(got[index])}, expected {show(expected[index])}\n"
            f"  got      {show(got)}\n  expected {show(expected)}" + on_input(inputs))


@check("save_tensors", "writes a file torch.load(path, weights_only=True) reads", points=1,
       hint="torch.save(obj, path)")
@budget(8)
@given(xs=st.lists(any_tensors(), min_size=1, max_size=6))
def test_save_tensors_weights_only(submission, xs):
    files = submission.run(probes.saved_tensor_files, xs)
    for x, data in paired(xs, files, "files"):
        saved.open_file(data, "the file save_tensors(X, path) wrote", WEIGHTS_ONLY_ADVICE, X=x)


@check("save_tensors/load_tensors", "a tensor comes back with equal values, dtype and shape", points=3,
       hint="torch.save(obj, path) and torch.load(path) keep tensors as they are; convert nothing")
@budget(15)
@given(xs=st.lists(any_tensors(), min_size=1, max_size=8))
def test_tensor_round_trip(submission, xs):
    ys = submission.run(probes.tensor_round_trips, xs)
    for x, y in paired(xs, ys):
        expect_same_tensor(y, x, ROUND_TRIP, X=x)


@check("save_tensors/load_tensors", "lists and dicts come back with their order and keys", points=2,
       hint="save the list or dict itself: torch.save keeps containers of tensors")
@budget(10)
@given(objs=st.lists(containers(), min_size=1, max_size=4))
def test_container_round_trip(submission, objs):
    results = submission.run(probes.container_round_trips, objs)
    for obj, result in paired(objs, results):
        loaded, alone = result["loaded"], result["alone"]
        what = ROUND_TRIP.replace("X", "obj")
        if isinstance(obj, list):
            expect(isinstance(loaded, list) and len(loaded) == len(obj),
                   lambda: f"{what} should give a list of {len(obj)} tensors, got {show(loaded)}" + on_input({"obj": obj}))  # noqa: E501
            pairs = [(str(i), i, value) for i, value in enumerate(loaded)]
        else:
            expect(isinstance(loaded, dict) and set(loaded) == set(obj),
                   lambda: f"{what} should give a dict with the keys {sorted(obj)}, got "
                   f"{sorted(loaded) if isinstance(loaded, dict) else show(loaded)}" + on_input({"obj": obj}))
            pairs = [(key, key, loaded[key]) for key in obj]
        for name, key, value in pairs:
            # Each element against its own round trip: what a single tensor becomes is the
            # other check's business; here the container must keep its elements as they are.
            reference = alone.get(name)
            reference = reference if isinstance(reference, torch.Tensor) else obj[key]
            expect_same_tensor(value, reference, f"element {key!r} of {what}, compared with that tensor saved "  # noqa: E501
                               "and loaded alone,", obj=obj)


# -- save_params / load_params -------------------------------------------------------------


@cache
def _quarter_batches(width: int, least: int, most: int) -> st.SearchStrategy[list[torch.Tensor]]:
    """One to three batches of ``rows(width, least, most)``, divided by 4 (by a lambda, which
    a counterexample shows as Python: ``torch.tensor([[0.0], [0.0]]) / 4``)."""
    return st.lists(rows(width, least, most).map(lambda t: t / 4), min_size=1, max_size=3)


@st.composite
def bn_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A batch-norm net (sizes and parameter values), training batches that move its
    running statistics, and inputs to compare outputs on."""
    d, h, o = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    batches = draw(_quarter_batches(d, 2, 4))
    xs = draw(_quarter_batches(d, 1, 3))
    return {"sizes": [d, h, o], "seed": draw(st.integers(0, 2**16)), "batches": batches, "xs": xs}


FIXED_BN_CASE = {
    "sizes": [3, 4, 2],
    "seed": 7,
    "batches": [torch.arange(12.0).reshape(4, 3) / 8, torch.ones(3, 3)],
    "xs": [torch.linspace(-1, 1, 6).reshape(2, 3)],
}


def bn_values(case: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The original net's parameters: drawn here from the case's seed, sent to the probe."""
    return training.random_parameters(training.bn_net(case["sizes"]), case["seed"])


def run_loaded_params(submission: Any, case: dict[str, Any]) -> dict[str, Any]:
    return submission.run(probes.loaded_params, case["sizes"], bn_values(case), case["batches"], case["xs"])


def expected_bn_net(case: dict[str, Any]) -> torch.nn.Module:
    """The original net, rebuilt here: its parameters and its running statistics."""
    net = training.with_parameters(training.bn_net(case["sizes"]), bn_values(case))
    return training.run_in_train_mode(net, case["batches"]).eval()


def describe_bn(case: dict[str, Any]) -> str:
    d, h, o = case["sizes"]
    return f"Sequential(Linear({d}, {h}), BatchNorm1d({h}), ReLU(), Dropout(0.5), Linear({h}, {o}))"


def state_differences(got: dict[str, Any], expected: dict[str, torch.Tensor]) -> list[str]:
    """The state_dict entries of ``got`` that are missing or differ from ``expected``'s."""
    differ = []
    for name, value in expected.items():
        other = got.get(name)
        if not (isinstance(other, torch.Tensor) and other.shape == value.shape
                and torch.allclose(other.double(), value.double(), rtol=1e-5, atol=1e-6)):
            differ.append(name)
    return differ


@check("save_params", "writes net.state_dict(), readable with weights_only=True", points=2,
       hint="torch.save(net.state_dict(), path); saving the module itself pickles its class")
@budget(4)
@given(case=bn_cases())
def test_save_params_state_dict(submission, case):
    data = submission.run(probes.saved_params_file, case["sizes"], bn_values(case), case["batches"])
    net = describe_bn(case)
    content = saved.open_file(data, f"the file save_params(net, path) wrote for net = {net}",
                              "save net.state_dict(), a dict of tensors, not the module")
    expected = dict(expected_bn_net(case).state_dict())
    expect(isinstance(content, dict),
           lambda: f"the file should hold net.state_dict(), a dict of name -> tensor, got {type(content).__name__} "  # noqa: E501
           f"{show(content, 120)}\n  for net = {net}")
    missing = [name for name in expected if name not in content]
    extra = [name for name in content if name not in expected]
    expect(not missing and not extra,
           lambda: f"the file should hold net.state_dict() with the keys {list(expected)}; "
           + (f"missing {missing} " if missing else "") + (f"unexpected {extra} " if extra else "")
           + "(the state_dict holds parameters and buffers such as batch norm's running_mean)"
           + f"\n  for net = {net}")
    for name in state_differences(content, expected):
        raise Fail(f"the file's {name!r} is {show(content.get(name))}, but net.state_dict()[{name!r}] is "
                   f"{show(expected[name])}\n  for net = {net}")


@check("load_params", "returns the net, in eval mode", points=1,
       hint="after load_state_dict, call net.eval() and return net")
def test_load_params_eval_mode(submission):
    case = FIXED_BN_CASE
    result = run_loaded_params(submission, case)
    expect(result["is_given"],
           lambda: f"load_params(net, path) should return the net it was given, got {result['returned']}\n"
           f"  for net = {describe_bn(case)}")
    training_on = [name or "net" for name, flag in result["training"].items() if flag]
    expect(not training_on,
           lambda: "after load_params(net, path) the net is still in training mode (.training is True for "
           f"{', '.join(training_on)}): dropout stays active and batch norm normalizes with batch "
           "statistics; call net.eval() before returning it"
           f"\n  for net = {describe_bn(case)}")


@check("load_params", "the clone's outputs equal the original's exactly", points=3,
       hint="net.load_state_dict(torch.load(path)) restores parameters and buffers alike")
@budget(6)
@given(case=bn_cases())
def test_load_params_outputs(submission, case):
    result = run_loaded_params(submission, case)
    original = expected_bn_net(case)
    expected_state = dict(original.state_dict())
    net = describe_bn(case)
    state = result["state"]
    differ = state_differences(state if isinstance(state, dict) else {}, expected_state)
    buffers = [name for name in differ if "running" in name or "num_batches" in name]
    expect(not differ,
           lambda: f"after load_params(net, path), net.state_dict() differs from the saved one in {differ}"
           + (" (batch norm's running statistics are buffers, part of the state_dict)" if buffers else "")
           + (f": {differ[0]!r} is {show(state.get(differ[0]))}, saved {show(expected_state[differ[0]])}"
              if differ and isinstance(state, dict) else "")
           + f"\n  for net = {net}")
    with torch.no_grad():
        expected = [original(x) for x in case["xs"]]
    clone_outputs = [y for _, y in paired(case["xs"], result["outputs"])]
    original_outputs = [y for _, y in paired(case["xs"], result["original_outputs"])]
    for x, y, y0, e in zip(case["xs"], clone_outputs, original_outputs, expected, strict=True):
        y, y0 = expect_tensor(y, "the clone's output", X=x), expect_tensor(y0, "the original's output", X=x)
        expect(y.shape == y0.shape and torch.equal(y, y0),
               lambda: f"in eval mode the clone's output {show(y)} differs from the original's {show(y0)}"
               f"\n  for net = {net}" + on_input({"X": x}))
        expect(y.shape == e.shape and torch.allclose(y.double(), e.double(), rtol=1e-5, atol=1e-6),
               lambda: f"in eval mode the clone's output is {show(y)}, but the saved net gives {show(e)}"
               f"\n  for net = {net}" + on_input({"X": x}))


# -- save_checkpoint / load_checkpoint -----------------------------------------------------


@st.composite
def training_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A small net's sizes and initial parameters, n full batches (X, y), and the step k
    (1 <= k < n) after which the checkpoint is saved."""
    sizes = [draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))]
    n = draw(st.integers(2, 5))
    k = draw(st.integers(1, n - 1))
    batches = []
    for _ in range(n):
        rows = draw(st.integers(1, 4))
        x = draw(tensors((rows, sizes[0]))) / 4
        y = draw(tensors((rows, sizes[-1]))) / 4
        batches.append([x, y])
    return {"sizes": sizes, "seed": draw(st.integers(0, 2**16)), "batches": batches, "k": k}


FIXED_TRAINING_CASE = {
    "sizes": [3, 4, 2],
    "seed": 11,
    "batches": [[torch.linspace(-1, 1, 6).reshape(2, 3), torch.ones(2, 2) / 2],
                [torch.ones(1, 3), -torch.ones(1, 2)],
                [torch.arange(6.0).reshape(2, 3) / 6, torch.zeros(2, 2)]],
    "k": 2,
}


def mlp_values(case: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The initial parameters: drawn here from the case's seed, sent to the probe."""
    return training.random_parameters(training.mlp(case["sizes"]), case["seed"])


def run_checkpoint(submission: Any, kind: str, case: dict[str, Any], epoch: int) -> dict[str, Any]:
    return submission.run(probes.checkpoint_resume, kind, case["sizes"], mlp_values(case), case["batches"],
                          case["k"], epoch)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Compute as the workers do, on one thread, so that no reduction is split otherwise."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def trained(kind: str, case: dict[str, Any], steps: int) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    """The net and its optimizer after ``steps`` steps, recomputed here."""
    net = training.with_parameters(training.mlp(case["sizes"]), mlp_values(case))
    opt = training.optimizer(kind, net)
    with one_thread():
        training.train(net, opt, case["batches"][:steps])
    return net, opt


@dataclasses.dataclass
class Recomputed:
    """The judges' own run of a case: what a checkpoint after step k holds (the model's state
    and the optimizer's tensors, copied at step k) and the parameters after the last step.
    One run gives both: it trains on from step k as an uninterrupted run would."""

    model_state: dict[str, torch.Tensor]
    optimizer_tensors: list[torch.Tensor]
    final: dict[str, torch.Tensor]


def recomputed(kind: str, case: dict[str, Any]) -> Recomputed:
    net, opt = trained(kind, case, case["k"])
    model_state = {name: value.clone() for name, value in net.state_dict().items()}
    states = opt.state_dict()["state"].values()
    tensors = [tensor.clone() for state in states for key, tensor in state.items() if key != "step"]
    with one_thread():
        training.train(net, opt, case["batches"][case["k"]:])
    return Recomputed(model_state, tensors, training.parameters(net))


def describe_training(kind: str, case: dict[str, Any]) -> str:
    sizes = case["sizes"]
    layers = ", Tanh(), ".join(f"Linear({a}, {b})" for a, b in zip(sizes, sizes[1:], strict=False))
    return (f"Sequential({layers}) trained with {kind} for {len(case['batches'])} steps, "
            f"checkpointed after step {case['k']}")


OPTIMIZER_STATE = {training.SGD: "the momentum buffers",
                   training.ADAM: "Adam's moment estimates (exp_avg, exp_avg_sq)"}


def expect_checkpoint_holds_state(content: Any, kind: str, case: dict[str, Any], run: Recomputed) -> None:
    """The checkpoint must hold the model's parameters and the optimizer's state after k
    steps, in whatever layout: every such tensor must appear somewhere in the file."""
    found = list(saved.tensors_in(content))
    where = f"\n  for {describe_training(kind, case)}"
    for name, value in run.model_state.items():
        expect(saved.holds(found, value),
               lambda: f"the checkpoint holds no model state: model.state_dict()[{name!r}] after step "
                       f"{case['k']}, "
               f"{show(value)}, is nowhere in the file (save model.state_dict() in it)" + where)
    for value in run.optimizer_tensors:
        expect(saved.holds(found, value),
               lambda: f"the checkpoint holds no optimizer state: {OPTIMIZER_STATE[kind]} after step "
                       f"{case['k']} are not "
               "in the file, so a resumed run starts them afresh (save optimizer.state_dict() in it)" + where)


def judge_resume(submission: Any, kind: str, case: dict[str, Any]) -> None:
    result = run_checkpoint(submission, kind, case, epoch=1000)
    where = f"\n  for {describe_training(kind, case)}"
    if result["file"] is None:
        raise Fail("save_checkpoint(path, model, optimizer, epoch) wrote no file at path, so nothing "
                             "can resume from it" + where)
    content = saved.load_weights_only(expect_tensor(result["file"], "the checkpoint's bytes"))
    held = not isinstance(content, saved.Unreadable)  # else only the save check can judge the file
    run = recomputed(kind, case)
    if held:
        expect_checkpoint_holds_state(content, kind, case, run)
    resumed = result["resumed"]
    for name, value in run.final.items():
        got = expect_tensor(resumed.get(name), f"the resumed {name}")
        if got.shape == value.shape and torch.equal(got, value):
            continue
        raise Fail(f"training resumed from the checkpoint ends with other parameters than uninterrupted "
                   f"training: {first_difference(name, got, value)}"
                   + resume_diagnosis(kind, case, resumed, held)
                   + f"\n  resumed       {show(got)}\n  uninterrupted {show(value)}" + where)


def first_difference(name: str, got: torch.Tensor, expected: torch.Tensor) -> str:
    """``name[i] is a, not b``, at full precision: bit-for-bit differences can be tiny."""
    if got.shape != expected.shape:
        return f"{name} has shape {tuple(got.shape)}, not {tuple(expected.shape)}"
    index = tuple(int(i) for i in torch.nonzero(got != expected)[0])
    where = ", ".join(map(str, index))
    return f"{name}[{where}] is {float(got[index]):.9g}, not {float(expected[index]):.9g}"


def resume_diagnosis(kind: str, case: dict[str, Any], resumed: dict[str, Any], held: bool) -> str:
    """Which state load_checkpoint left behind, when that can be told."""
    net, _ = trained(kind, case, case["k"])
    opt = training.optimizer(kind, net)  # the model restored, the optimizer fresh
    with one_thread():
        training.train(net, opt, case["batches"][case["k"]:])
    model_only = training.parameters(net)
    if all(isinstance(resumed.get(n), torch.Tensor) and resumed[n].shape == v.shape
           and torch.equal(resumed[n], v) for n, v in model_only.items()):
        return ("; that is training with the model restored and a fresh optimizer: load_checkpoint must "
                "also call optimizer.load_state_dict")
    if held:
        return ("; the file holds the model's and the optimizer's state, so load_checkpoint does not restore "
                "them (model.load_state_dict and optimizer.load_state_dict)")
    return ""


@check("save_checkpoint", "writes a file torch.load(path, weights_only=True) reads", points=1,
       hint="save a dict of model.state_dict(), optimizer.state_dict() and the epoch")
def test_save_checkpoint_weights_only(submission):
    case = FIXED_TRAINING_CASE
    data = submission.run(probes.saved_checkpoint_file, training.SGD, case["sizes"], mlp_values(case),
                          case["batches"], case["k"], 1000)
    saved.open_file(data, "the file save_checkpoint(path, model, optimizer, epoch) wrote",
                    "save model.state_dict() and optimizer.state_dict(), not the objects themselves")


def epoch_absent(content: Any, epoch: int) -> str:
    """Why the checkpoint's content does not hold ``epoch``, as near as it can be told."""
    numbers = set(saved.integers_in(content))
    for near, said in ((epoch + 1, "one more than"), (epoch - 1, "one less than")):
        if near in numbers:
            return (f"; the checkpoint holds {near}, {said} the epoch given to save_checkpoint: save the epoch "  # noqa: E501
                    "as given, and let the training loop decide where to resume")
    return f"; the checkpoint holds no epoch (nothing in the file equals {epoch}): save it beside the states"


@check("save_checkpoint/load_checkpoint", "returns the saved epoch", points=1,
       hint="store the epoch in the checkpoint and have load_checkpoint return it")
@budget(3)
@given(epoch=st.integers(10, 10_000))
def test_checkpoint_epoch(submission, epoch):
    result = run_checkpoint(submission, training.SGD, FIXED_TRAINING_CASE, epoch)
    returned = result["epoch"]
    if type(returned) is int and returned == epoch:
        return
    detail = ""
    data = result["file"]
    content = saved.load_weights_only(data) if isinstance(data, torch.Tensor) else None
    if content is not None and not isinstance(content, saved.Unreadable):
        if epoch in set(saved.integers_in(content)):
            detail = f"; the checkpoint holds {epoch}: load_checkpoint must return it"
        else:
            detail = epoch_absent(content, epoch)
    raise Fail(f"load_checkpoint(path, model, optimizer) returned {show(returned, 120)}, expected the "
                         f"epoch given to save_checkpoint, {epoch}{detail}")


@check("save_checkpoint/load_checkpoint", "SGD with momentum resumes bit-for-bit", points=3,
       hint="save and restore the optimizer's state_dict too: it holds the momentum buffers")
@budget(5)
@given(case=training_cases())
def test_resume_sgd(submission, case):
    judge_resume(submission, training.SGD, case)


# -- reuse_layers ------------------------------------------------------------------------------
# The probe saves an old net's state_dict itself, so that reuse_layers is judged alone. Old and
# new nets are specs (``nets.build``): the old one with batch norms here and there (their 1-D
# weights are not layers), the new one laid out otherwise (so that names do not line up), its
# first n layers shaped as the old one's, then either the old one's next layers again (a
# function that ignores n copies them too) or layers of other sizes.


def _hidden_block(draw: st.DrawFn, fan_in: int, fan_out: int, last: bool,
                  constants: bool = False) -> list[list[Any]]:
    """A linear layer, then (unless last) maybe a batch norm, a ReLU and (where ``constants``)
    maybe a FixedHidden, whose 2-D buffer ``rand_weight`` is no layer's weight."""
    block: list[list[Any]] = [["linear", fan_in, fan_out]]
    if not last:
        block += [["bn", fan_out]] if draw(st.booleans()) else []
        block.append(["relu"])
        block += [["fixed", fan_out]] if constants and draw(st.booleans()) else []
    return block


@cache
def _layers_to_copy(k: int) -> st.SearchStrategy[int | None]:
    """reuse_layers' n for an old net of k layers: None (the default) or 1 to k."""
    return st.one_of(st.none(), st.integers(1, k))


@st.composite
def reuse_cases(draw: st.DrawFn) -> dict[str, Any]:
    """An old net of k >= 2 linear layers, n (None: the default, 2), and a new net."""
    k = draw(st.integers(2, 4))
    sizes = draw(st.lists(st.integers(1, 5), min_size=k + 1, max_size=k + 1))
    n = draw(_layers_to_copy(k))
    copied = 2 if n is None else n
    old = [part for i in range(k) for part in _hidden_block(draw, sizes[i], sizes[i + 1], i == k - 1, True)]
    head = [part for i in range(copied) for part in _hidden_block(draw, sizes[i], sizes[i + 1], False)]
    if copied < k and draw(st.booleans()):
        tail_sizes = sizes[copied:]  # the old net's next layers again
    else:
        tail_sizes = [sizes[copied], *draw(st.lists(st.integers(1, 5), min_size=1, max_size=2))]
    tail = [part for i in range(len(tail_sizes) - 1)
            for part in _hidden_block(draw, tail_sizes[i], tail_sizes[i + 1], i == len(tail_sizes) - 2)]
    new = [["seq", head], *tail] if draw(st.booleans()) else head + tail
    return {"old": old, "new": new, "n": n, "seed": draw(st.integers(0, 2**16))}


FIXED_REUSE_CASE = {
    "old": [["linear", 3, 4], ["bn", 4], ["relu"], ["linear", 4, 2], ["relu"], ["linear", 2, 2]],
    "new": [["linear", 3, 4], ["relu"], ["linear", 4, 2], ["relu"], ["linear", 2, 5]],
    "n": None,
    "seed": 3,
}


def reuse_states(case: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """The old net's saved state and the new net's own values, drawn here from the case's seed."""
    return (nets.random_state(nets.build(case["old"]), case["seed"]),
            nets.random_state(nets.build(case["new"]), case["seed"] + 1))


def run_reuse(submission: Any, case: dict[str, Any]) -> dict[str, Any]:
    old_state, new_state = reuse_states(case)
    result = submission.run(probes.reused_layers, case["old"], old_state, case["new"], new_state, case["n"])
    raised = result.get("raised")
    buffer = any(spec[0] == "fixed" for spec in case["old"])
    expect(raised is None, lambda: f"{reuse_call(case)} raised {raised}" + (
        ": the saved net's nn.Linear layers are its entries named weight with 2 dimensions (and the bias "
        "beside each); a 2-D buffer such as rand_weight is no layer" if buffer else "") + reuse_where(case))
    return result


def describe_spec(specs: list[list[Any]]) -> str:
    def one(spec: list[Any]) -> str:
        if spec[0] == "seq":
            return describe_spec(spec[1])
        return {"linear": lambda: f"Linear({spec[1]}, {spec[2]})", "bn": lambda: f"BatchNorm1d({spec[1]})",
                "relu": lambda: "ReLU()",
                "fixed": lambda: f"FixedHidden({spec[1]}) (no parameters; a buffer rand_weight "
                                 f"{(spec[1], spec[1])})",
                }[spec[0]]()
    return "Sequential(" + ", ".join(one(spec) for spec in specs) + ")"


def reuse_call(case: dict[str, Any]) -> str:
    return "reuse_layers(path, new_net)" if case["n"] is None else f"reuse_layers(path, new_net, n={case['n']})"  # noqa: E501


def reuse_where(case: dict[str, Any]) -> str:
    return f"\n  saved net = {describe_spec(case['old'])}\n  new_net   = {describe_spec(case['new'])}"


def reused_pairs(case: dict[str, Any]) -> list[tuple[str, str]]:
    """(the new net's layer, the saved net's layer) for each of the first n nn.Linear layers."""
    n = 2 if case["n"] is None else case["n"]
    return list(zip(nets.linear_names(nets.build(case["new"]))[:n], nets.linear_names(nets.build(case["old"]))[:n],  # noqa: E501
                    strict=True))


def _same(got: Any, expected: torch.Tensor) -> bool:
    return isinstance(got, torch.Tensor) and got.shape == expected.shape and torch.equal(got, expected)


@check("reuse_layers", "the first n nn.Linear layers get the saved parameters", points=3,
       hint="the saved layers are the entries whose weight is 2-D; copy weight and bias of the first n, in order")  # noqa: E501
@budget(8)
@given(case=reuse_cases())
def test_reuse_layers_copies(submission, case):
    result = run_reuse(submission, case)
    old_state, _ = reuse_states(case)
    state = result["state"]
    for i, (new_name, old_name) in enumerate(reused_pairs(case)):
        for part in ("weight", "bias"):
            got, expected = state.get(f"{new_name}.{part}"), old_state[f"{old_name}.{part}"]
            expect(_same(got, expected),
                   lambda: f"after {reuse_call(case)}, nn.Linear number {i + 1} of new_net ({new_name!r}) should hold "  # noqa: E501
                   f"the saved net's {old_name}.{part}: got {show(got)}, expected {show(expected)}"
                   + reuse_where(case))


@check("reuse_layers", "copies the first n layers and leaves the rest of new_net as it was", points=2,
       hint="stop after n layers: new_net's later layers, and its batch norms, keep their own values")
@budget(8)
@given(case=reuse_cases())
def test_reuse_layers_leaves_the_rest(submission, case):
    result = run_reuse(submission, case)
    old_state, new_state = reuse_states(case)
    state = result["state"]
    pairs = reused_pairs(case)
    expect(any(_same(state.get(f"{new}.weight"), old_state[f"{old}.weight"]) for new, old in pairs),
           lambda: f"after {reuse_call(case)}, none of new_net's first layers holds a saved weight: nothing was "  # noqa: E501
           "reused" + reuse_where(case))
    reused = {f"{new}.{part}" for new, _ in pairs for part in ("weight", "bias")}
    for name, before in new_state.items():
        if name in reused:
            continue
        got = state.get(name)
        expect(_same(got, before),
               lambda: f"after {reuse_call(case)}, new_net's {name!r} changed: it is not among its first "
               f"{len(pairs)} nn.Linear layers, so it should keep its value; got {show(got)}, expected {show(before)}"  # noqa: E501
               + reuse_where(case))


@check("reuse_layers", "returns new_net", points=1, hint="end with return new_net")
def test_reuse_layers_returns(submission):
    result = run_reuse(submission, FIXED_REUSE_CASE)
    expect(result["is_given"],
           lambda: f"{reuse_call(FIXED_REUSE_CASE)} should return the new_net it was given, got {result['returned']}"  # noqa: E501
           + reuse_where(FIXED_REUSE_CASE))


# -- save_model / load_model ---------------------------------------------------------------------
# The net is a ``CourseModel`` (``nets``), whose class exists only in the worker that saves.
# One check loads it in that same worker (after changing the net, so that only the file can
# answer); the other in a worker that holds nothing of the submission but its imports and
# functions (``Sandbox.functions_only``), as a program without the class would.


@st.composite
def model_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A CourseModel (sizes, activation, state from a seed), an example and inputs of its shape."""
    d, h, o = draw(st.integers(1, 4)), draw(st.integers(1, 5)), draw(st.integers(1, 3))
    shape = (draw(st.integers(1, 4)), d)
    return {"config": {"d": d, "h": h, "o": o, "act": draw(choice(("relu", "tanh")))},
            "seed": draw(st.integers(0, 2**16)), "example": draw(tensors(shape)),
            "xs": draw(st.lists(tensors(shape), min_size=1, max_size=3))}


def model_state(case: dict[str, Any]) -> dict[str, torch.Tensor]:
    return nets.random_state(nets.course_model(case["config"]), case["seed"])


def describe_model(case: dict[str, Any]) -> str:
    c = case["config"]
    return (f"CourseModel(d={c['d']}, h={c['h']}, o={c['o']}) in eval mode, whose forward is "
            f"out({c['act']}(norm(hidden(X)))) + skip(X)")


def judge_loaded_outputs(result: dict[str, Any], case: dict[str, Any], where: str) -> None:
    """The loaded model's outputs on the case's inputs are the saved net's."""
    net = describe_model(case)
    expect(result["outputs"] is not None or result["raised"] is not None,
           lambda: f"load_model(path) {where} returned {result['returned']}, which cannot be called on X: "
           f"it should return a module\n  for net = {net}")
    expect(result["raised"] is None, lambda: f"the model load_model(path) returned {where} raised "
           f"{result['raised']} when called on X of shape {tuple(case['example'].shape)}\n  for net = {net}")
    state = model_state(case)
    for x, y in paired(case["xs"], result["outputs"]):
        y = expect_tensor(y, f"the output of the model load_model(path) returned {where}", X=x)
        expect_close(y, nets.course_model_output(case["config"], state, x),
                     f"the output of the model load_model(path) returned {where}", rtol=1e-4, atol=1e-5, X=x)


@check("save_model/load_model", "the loaded model gives the saved net's outputs", points=1,
       hint="load_model must rebuild the model from the file alone: the net may have changed since")
@budget(4)
@given(case=model_cases())
def test_model_round_trip(submission, case):
    result = submission.run(probes.model_round_trip, case["config"], model_state(case), case["example"], case["xs"])  # noqa: E501
    judge_loaded_outputs(result, case, "after save_model(net, path, example), in the same process,")


def load_failure_advice(raised: str) -> str:
    """Why load_model failed where the net's class is not defined, in the student's terms."""
    if "CourseModel" in raised or "Can't get attribute" in raised:
        return ("the file holds a reference to the net's class (torch.save(net, path) pickles it by name), not "  # noqa: E501
                "the computation, so it loads only where that class is defined; save with torch.jit.trace / "
                "torch.jit.script or torch.export")
    if "NameError" in raised:
        return ("load_model uses a name that is not an import, a function or a constant of your file: the "
                "file itself must carry the architecture")
    if "weights_only" in raised or "Weights only" in raised:
        return ("torch.load(path) with weights_only=True refuses a pickled module; and a pickled module would "  # noqa: E501
                "still need its class: save the computation with TorchScript or torch.export")
    return "load_model must rebuild the model from the file alone"


@check("save_model/load_model", "load_model rebuilds the model where the net's class is not defined", points=3,  # noqa: E501
       hint="save the computation, not a reference to the class: torch.jit.trace(net, example).save(path) "
       "and torch.jit.load(path), or torch.export")
@budget(4)
@given(case=model_cases())
def test_model_without_its_class(submission, case):
    data = submission.run(probes.saved_model_file, case["config"], model_state(case), case["example"])
    net = describe_model(case)
    expect(data is not None, lambda: f"save_model(net, path, example) wrote no file at path\n  for net = {net}")  # noqa: E501
    result = submission.functions_only().run(probes.loaded_model, expect_tensor(data, "the file's bytes"), case["xs"])  # noqa: E501
    raised = result["load_raised"]
    expect(raised is None,
           lambda: f"in a fresh process, where the net's class CourseModel and your classes are not defined, "
           f"load_model(path) raised {raised}: {load_failure_advice(raised)}\n  for net = {net}")
    judge_loaded_outputs(result, case, "in a fresh process, where the net's class is not defined,")
