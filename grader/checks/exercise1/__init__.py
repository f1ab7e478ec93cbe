"""Layers and blocks: MLP, MySequential, FixedHiddenMLP, NestMLP, chimera, ParallelBlock, stack."""

TITLE = "Layers and blocks"
