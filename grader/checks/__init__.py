"""The checks, one package per exercise: ``probes`` (run in workers) and ``judges`` (pytest)."""
