"""File I/O and checkpoints: save_tensors, load_tensors, save_params, load_params,
save_checkpoint, load_checkpoint, reuse_layers, save_model, load_model."""

TITLE = "File I/O and checkpoints"
