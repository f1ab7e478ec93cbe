"""Every output is a pure function of one Report: ``to_terminal``, ``to_json``, ``to_markdown``,
``to_junit``, ``to_gradescope`` and ``to_csv``; ``text`` holds the rules they share and
``files`` writes the chosen formats.
"""
