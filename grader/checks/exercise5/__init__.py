"""File I/O and checkpoints: save_tensors, load_tensors, save_params, load_params,
save_checkpoint, load_checkpoint."""

TITLE = "File I/O and checkpoints"
