"""d2l-grader: grades the "Deep Learning Computation" exercises of Dive into Deep Learning.

Kept import-light on purpose: the worker server imports this package before any student
code runs, and `grade list` should not pay for torch.
"""

__version__ = "0.1.0"
