"""Grading on other platforms: Gradescope's autograder archive (``gradescope``, and
``gradescope_run``, which runs inside it) and a GitHub Actions workflow (``github``).

Both go through the same ``grader.grading.engine.grade`` as ``grade exerciseN``; they only add
where the submission comes from and where the result goes.
"""
