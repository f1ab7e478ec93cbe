"""The grading pipeline: one submission in, one report out.

    submission (read the file) -> sandbox_setup (start the worker server) -> engine (run
    the judges with pytest through pytest_plugin, each asking a worker for probe results)
    -> report

``exercises`` is the catalog of exercises, ``file_choice`` picks the student's file between
``.py`` and ``.ipynb``, ``replay`` lets a batch judge later submissions on earlier inputs,
``errors`` holds what judging can raise.
"""
