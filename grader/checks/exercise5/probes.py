"""Probes for exercise5 (file I/O and checkpoints). They run in the worker, beside the
submission, in the worker's own temporary working directory.

Every file the student's code writes comes back as its bytes (a uint8 tensor), never as
the object it holds: the judges open it themselves with ``torch.load(weights_only=True)``.
Files the probes write themselves (to judge a load function alone) use ``torch.save``.
"""

from __future__ import annotations

import io
import os
import shutil
import sys
from typing import Any

import torch
from torch import nn

from grader.authoring import probe, seed_torch
from grader.checks.exercise5 import nets, training


def warm_up() -> None:
    """Run once by the worker server, before it forks any worker (``worker_server``): a
    process's first ``torch.jit.trace``, save and load cost about 40 ms more than later ones
    (the JIT sets itself up), which every worker, and so every grading, would pay again.
    Plain torch only, and the random state is put back: workers start as they did before."""
    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Dropout(0.5), nn.Linear(4, 2))
        example = torch.zeros(2, 3)
        buffer = io.BytesIO()
        torch.jit.save(torch.jit.trace(net.eval(), example), buffer)
        buffer.seek(0)
        torch.jit.load(buffer)(example)
        buffer = io.BytesIO()
        torch.save(net.state_dict(), buffer)
        buffer.seek(0)
        torch.load(buffer, weights_only=True)


def _fresh_path(name: str) -> str:
    """A path in the working directory with no file at it (an earlier call's is removed)."""
    path = os.path.join(os.getcwd(), name)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)  # the submission may have made one there
    elif os.path.lexists(path):
        os.remove(path)
    return path


def _file_bytes(path: str) -> torch.Tensor | None:
    """The file's bytes as a uint8 tensor; None when nothing was written at ``path``."""
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        data = handle.read()
    return torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else torch.zeros(0, dtype=torch.uint8)


def _round_trip(sub: Any, obj: Any, path: str) -> Any:
    sub.save_tensors(obj, path)
    return sub.load_tensors(path)


# -- save_tensors / load_tensors -----------------------------------------------------------


@probe
def saved_tensor_files(sub: Any, objs: list[Any]) -> list[torch.Tensor | None]:
    """The bytes of the file ``save_tensors(obj, path)`` wrote, for each obj."""
    files = []
    for obj in objs:
        path = _fresh_path("tensors.pt")
        sub.save_tensors(obj, path)
        files.append(_file_bytes(path))
    return files


@probe
def tensor_round_trips(sub: Any, objs: list[Any]) -> list[Any]:
    """``load_tensors(path)`` after ``save_tensors(obj, path)``, for each obj."""
    return [_round_trip(sub, obj, _fresh_path("tensors.pt")) for obj in objs]


@probe
def container_round_trips(sub: Any, objs: list[Any]) -> list[dict[str, Any]]:
    """For each list or dict: its round trip, and the round trip of each element alone
    (so that the judge can tell a container's faults from its elements')."""
    results = []
    for obj in objs:
        loaded = _round_trip(sub, obj, _fresh_path("tensors.pt"))
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        alone = {str(key): _round_trip(sub, value, _fresh_path("tensor.pt")) for key, value in items}
        results.append({"loaded": loaded, "alone": alone})
    return results


# -- save_params / load_params -------------------------------------------------------------


def _trained_bn_net(sizes: list[int], values: dict[str, torch.Tensor],
                    batches: list[torch.Tensor]) -> nn.Module:
    return training.run_in_train_mode(training.with_parameters(training.bn_net(sizes), values), batches)


@probe
def saved_params_file(
    sub: Any, sizes: list[int], values: dict[str, torch.Tensor], batches: list[torch.Tensor]
) -> torch.Tensor | None:
    """The bytes ``save_params(net, path)`` wrote for a batch-norm net with running statistics."""
    net = _trained_bn_net(sizes, values, batches)
    path = _fresh_path("params.pt")
    sub.save_params(net, path)
    return _file_bytes(path)


@probe
def loaded_params(
    sub: Any,
    sizes: list[int],
    values: dict[str, torch.Tensor],
    batches: list[torch.Tensor],
    xs: list[torch.Tensor],
) -> dict[str, Any]:
    """``load_params(fresh, path)`` on a file of the original net's ``state_dict`` (written
    here with ``torch.save``, so that load_params is judged alone).

    Reports what came back (``returned``: its type name, ``is_given``: whether it is the
    net passed in) and every module's ``training`` flag; then, in eval mode set here (the
    mode is the other check's business), the clone's ``state_dict`` and outputs on ``xs``,
    and the original's outputs. The clone is what load_params returned if that is a module,
    else the net it was given.
    """
    original = _trained_bn_net(sizes, values, batches)
    path = _fresh_path("params.pt")
    torch.save(original.state_dict(), path)
    seed_torch(12345)  # the fresh net's defaults differ from the original's values
    fresh = training.bn_net(sizes)
    returned = sub.load_params(fresh, path)
    is_module = isinstance(returned, nn.Module)
    clone = returned if is_module else fresh
    training_flags = {name: bool(m.training) for name, m in clone.named_modules()} if is_module else {}
    clone.eval()
    original.eval()
    with torch.no_grad():
        outputs = [clone(x) for x in xs]
        original_outputs = [original(x) for x in xs]
    return {
        "returned": "None" if returned is None else type(returned).__name__,
        "is_given": returned is fresh,
        "training": training_flags,
        "state": dict(clone.state_dict()),
        "outputs": outputs,
        "original_outputs": original_outputs,
    }


# -- save_checkpoint / load_checkpoint -----------------------------------------------------


def _checkpointed(
    sub: Any, kind: str, sizes: list[int], values: dict[str, torch.Tensor], batches: list[list[torch.Tensor]],
    k: int, epoch: int,
) -> tuple[nn.Module, torch.optim.Optimizer, str]:
    """Train k steps, then ``save_checkpoint(path, model, optimizer, epoch)``."""
    model = training.with_parameters(training.mlp(sizes), values)
    opt = training.optimizer(kind, model)
    training.train(model, opt, batches[:k])
    path = _fresh_path("checkpoint.pt")
    sub.save_checkpoint(path, model, opt, epoch)
    return model, opt, path


@probe
def saved_checkpoint_file(
    sub: Any, kind: str, sizes: list[int], values: dict[str, torch.Tensor], batches: list[list[torch.Tensor]],
    k: int, epoch: int,
) -> torch.Tensor | None:
    """The bytes of the checkpoint saved after k steps (load_checkpoint is not called)."""
    return _file_bytes(_checkpointed(sub, kind, sizes, values, batches, k, epoch)[2])


@probe
def checkpoint_resume(
    sub: Any, kind: str, sizes: list[int], values: dict[str, torch.Tensor], batches: list[list[torch.Tensor]],
    k: int, epoch: int,
) -> dict[str, Any]:
    """Train k steps, ``save_checkpoint(path, model, optimizer, epoch)``, restore into a
    freshly built model and optimizer with ``load_checkpoint``, train the rest.

    Returns the checkpoint's bytes, what load_checkpoint returned, the resumed parameters
    and, for the judge's diagnosis, the original trained on without interruption.
    """
    model, opt, path = _checkpointed(sub, kind, sizes, values, batches, k, epoch)
    checkpoint = _file_bytes(path)
    seed_torch(54321)  # a fresh model whose parameters differ from the saved ones
    resumed = training.mlp(sizes)
    resumed_opt = training.optimizer(kind, resumed)
    returned = sub.load_checkpoint(path, resumed, resumed_opt)
    training.train(resumed, resumed_opt, batches[k:])
    training.train(model, opt, batches[k:])
    return {
        "file": checkpoint,
        "epoch": returned,
        "resumed": training.parameters(resumed),
        "uninterrupted": training.parameters(model),
    }


# -- reuse_layers ----------------------------------------------------------------------------


@probe
def reused_layers(
    sub: Any, old: list[list[Any]], old_state: dict[str, torch.Tensor], new: list[list[Any]],
    new_state: dict[str, torch.Tensor], n: int | None,
) -> dict[str, Any]:
    """Save the old net's ``state_dict`` (with ``torch.save``, so that reuse_layers is judged
    alone), build the new net with its own values, call ``reuse_layers(path, new_net, n)``
    (without n when it is None): what came back, and the new net's ``state_dict`` after."""
    path = os.path.relpath(_fresh_path("old.params"))  # relative: no worker's folder in a message
    torch.save(nets.with_state(nets.build(old), old_state).state_dict(), path)
    new_net = nets.with_state(nets.build(new), new_state)
    try:
        returned = sub.reuse_layers(path, new_net) if n is None else sub.reuse_layers(path, new_net, n)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the judge explains it
        return {"raised": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {
        "raised": None,
        "returned": "None" if returned is None else type(returned).__name__,
        "is_given": returned is new_net,
        "state": {name: value.detach().clone() for name, value in new_net.state_dict().items()},
    }


# -- save_model / load_model -----------------------------------------------------------------
#
# The saved net's class stands for a student's own: it lives in ``__main__`` of the worker
# that saves (as a class of a notebook or script does), so that a file holding a reference
# to it, rather than the computation, cannot be loaded in any other worker.


def _course_model(config: dict[str, Any], state: dict[str, torch.Tensor]) -> nn.Module:
    net = nets.course_model(config)
    sys.modules["__main__"].CourseModel = type(net)  # where a pickle of the net looks for its class
    return nets.with_state(net, state).eval()


def _run_model(model: Any, xs: list[torch.Tensor]) -> dict[str, Any]:
    """``model(x)`` for each x, or what went wrong (not a module, or a call that raised)."""
    if not callable(model):
        return {"returned": type(model).__name__, "outputs": None, "raised": None}
    try:
        with torch.no_grad():
            outputs = [model(x) for x in xs]
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the judge explains it
        return {"returned": type(model).__name__, "outputs": None, "raised": f"{type(exc).__name__}: {str(exc)[:300]}"}  # noqa: E501
    return {"returned": type(model).__name__, "outputs": outputs, "raised": None}


@probe
def model_round_trip(
    sub: Any, config: dict[str, Any], state: dict[str, torch.Tensor], example: torch.Tensor, xs: list[torch.Tensor]  # noqa: E501
) -> dict[str, Any]:
    """``save_model(net, path, example)``, then the net's parameters are changed (a loaded
    model must come from the file, not from the net), then ``load_model(path)`` in this
    same worker, run on ``xs``."""
    net = _course_model(config, state)
    path = os.path.relpath(_fresh_path("model.pt"))
    sub.save_model(net, path, example)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
    return _run_model(sub.load_model(path), xs)


@probe
def saved_model_file(sub: Any, config: dict[str, Any], state: dict[str, torch.Tensor],
                     example: torch.Tensor) -> torch.Tensor | None:
    """The bytes ``save_model(net, path, example)`` wrote, for ``load_model`` in another worker."""
    path = os.path.relpath(_fresh_path("model.pt"))
    sub.save_model(_course_model(config, state), path, example)
    return _file_bytes(path)


@probe
def loaded_model(sub: Any, data: torch.Tensor, xs: list[torch.Tensor]) -> dict[str, Any]:
    """Write ``data`` to a file, ``load_model(path)``, run it on ``xs``. Called in a worker
    that holds only the submission's imports and functions (``Sandbox.functions_only``): the
    net's class, and the student's, are not defined there. What load_model raised comes back
    as ``load_raised``."""
    path = os.path.relpath(_fresh_path("model.pt"))
    with open(path, "wb") as handle:
        handle.write(data.numpy().tobytes())
    try:
        model = sub.load_model(path)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - the judge explains it
        return {"load_raised": f"{type(exc).__name__}: {str(exc)[:300]}"}
    return {"load_raised": None, **_run_model(model, xs)}
