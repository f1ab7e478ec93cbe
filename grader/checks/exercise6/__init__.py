"""GPUs: try_gpu, try_all_gpus, to_device, model_device, load_params_to."""

TITLE = "GPUs"
