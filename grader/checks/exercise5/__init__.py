"""File I/O and checkpoints: save_tensors, load_tensors, save_params, load_params,
save_checkpoint, load_checkpoint, reuse_layers, save_model, load_model."""

TITLE = "File I/O and checkpoints"
# Imported by the worker server, so that no worker pays for it: the first torch.jit.trace
# (a common save_model) imports it, with sympy, to compare the traced outputs (0.7 s).
WORKER_PRELOAD = ("torch.distributed.tensor",)
