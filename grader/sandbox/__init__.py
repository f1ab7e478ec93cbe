"""Running untrusted submissions.

Worker side (imported in the worker server and its children): ``channel``, ``wire``,
``confine``, ``worker``, ``zygote``. Trusted side: ``launcher`` and ``client``. The worker side
never imports anything that judges.
"""
