"""Grading a class: find the submissions (``discover``), grade them in parallel grading
processes (``scheduler``, ``pool``, ``grading_process``) with a report cache (``cache``),
then write the gradebook and summary (``aggregate``). ``command`` is the CLI.
"""
