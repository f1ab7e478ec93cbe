"""Every output is a pure function of one Report: ``to_terminal``, ``to_json``, ``to_markdown``,
``to_junit``, ``to_gradescope``, ``to_csv`` and ``to_html``; ``text`` holds the rules they share,
``files`` writes the chosen formats, and the HTML pages share ``html_page`` (escaping, style,
policy) and ``figures`` (matplotlib, as inline SVG).
"""
