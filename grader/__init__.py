"""d2l-grader: grades the "Deep Learning Computation" exercises of Dive into Deep Learning.

Kept import-light on purpose: the worker server imports this package before any student
code runs, and `grade list` should not pay for torch.
"""

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext grader`` in Jupyter or Colab: adds ``%grade exerciseN`` (``grader.grading.grade_magic``)."""  # noqa: E501
    from grader.grading.grade_magic import register

    register(ipython)
