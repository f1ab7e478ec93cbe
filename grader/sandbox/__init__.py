"""Running untrusted submissions.

Worker side (imported in the worker server and its children): ``channel``, ``wire``,
``confine``, ``worker``, ``worker_server``, ``notebook_run``. Trusted side: ``launchers``
and ``client``. The worker side
never imports anything that judges.
"""
