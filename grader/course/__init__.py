"""Course tooling for instructors: the students' release (``release``, ``release_texts``),
the notebooks built from the stubs (``notebooks``), and the checks an exercise declares
(``check_inventory``).
"""
