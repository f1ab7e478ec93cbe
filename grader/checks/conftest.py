"""Lets instructors run judges with plain pytest: ``--submission FILE``."""

from grader.grading.pytest_plugin import pytest_addoption, pytest_configure, submission  # noqa: F401
