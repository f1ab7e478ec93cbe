"""The trusted side's handle on one submission: run a probe, get plain data back.

``Sandbox.run(probe, *args)`` sends the call to a worker that holds the submission and
returns the probe's result, decoded without running anything (``wire``). Whatever the
submission does instead of answering becomes a ``StudentCodeProblem`` with a message for
the student. A worker that died or hung is killed and replaced on the next call; a failure
to import the submission is remembered, since it would only repeat.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from typing import Any

from grader.grading import cell_notes, near_miss
from grader.grading.errors import GraderFault, StudentCodeProblem, WorkerLost
from grader.grading.submission import Submission, functions_only
from grader.report import Note
from grader.sandbox import wire
from grader.sandbox.channel import ChannelClosed, FrameTooLarge
from grader.sandbox.launchers import Launcher, LauncherError, WorkerHandle
from grader.sandbox.limits import DEFAULT_LIMITS, Limits
from grader.statuses import ProblemKind, Reply

# Exit codes by which Windows reports that a process crashed (there are no signals).
WINDOWS_CRASHES = {0xC0000005: "crashed (access violation, Windows' segmentation fault)",
                   0xC00000FD: "crashed (stack overflow)", 0xC0000409: "aborted (fail-fast exception)"}


class Sandbox:
    """Runs probes against one submission in confined workers."""

    def __init__(
        self,
        launcher: Launcher,
        submission: Submission,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.launcher = launcher
        self.submission = submission
        self.limits = limits
        self.isolation: dict[str, Any] | None = None
        self.output = ""  # what the submission printed during the last call (capped)
        self._worker: WorkerHandle | None = None
        self._workdir: str | None = None
        self.load_problem: StudentCodeProblem | None = None
        self._sticky: StudentCodeProblem | None = None
        self._spent_s = 0.0  # time spent waiting for this submission's workers
        self._functions_only: Sandbox | None = None
        self.notes: tuple[Note, ...] = ()  # what a notebook's cells did besides defining answers
        self._undefined: dict[str, Note] = {}  # name -> the note of the cell that failed to bind it
        self._code_ran = False  # the submission's code has run in a worker of this sandbox

    def __repr__(self) -> str:  # stable: hypothesis prints it in falsifying examples
        return f"<submission {self.submission.filename}>"

    # -- used by the pytest plugin --------------------------------------------------

    def begin_check(self) -> None:
        """A new check starts: an earlier check's crash and output no longer count."""
        self._sticky = None
        self.output = ""
        if self._functions_only is not None:
            self._functions_only.begin_check()

    def close(self) -> None:
        if self._functions_only is not None:
            self._functions_only.close()
            self._functions_only = None
        self._stop_worker()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    # -- used by judges -------------------------------------------------------------

    def run(self, probe: Callable[..., Any], *args: Any, timeout: float | None = None) -> Any:
        """Run ``probe(submission, *args)`` in the worker and return its plain-data result.

        Raises ``StudentCodeProblem`` for a failure that depends on the input, and
        ``WorkerLost`` for one that would repeat on any input.
        """
        if self._sticky is not None:
            raise WorkerLost(self._sticky)
        left = self.limits.budget_s - self._spent_s
        if left <= 0:
            raise WorkerLost(StudentCodeProblem(
                ProblemKind.TIMEOUT, f"time limit: the submission used up its {self.limits.budget_s:g} s "
                "for all checks together; checks after that are not run", sticky=True))
        try:
            return self._call(probe, args, min(timeout or self.limits.call_s, left))
        except StudentCodeProblem as problem:
            if problem.sticky:
                self._sticky = problem
                raise WorkerLost(problem) from None
            raise

    def _call(self, probe: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        name = f"{probe.__module__}:{probe.__name__}"
        if not getattr(probe, "__grader_probe__", False) or probe.__module__ not in self.launcher.preload:
            raise GraderFault(f"{name} is not a probe the worker server preloads")
        worker = self.prepare()
        request = {"op": "call", "probe": name, "args": list(args), "seed": 0}
        response = self._exchange(worker, request, timeout, "while running the check")
        self.output = str(response.get("output", ""))
        return self._answer(response, "while running the check")

    def _answer(self, response: dict[str, Any], phase: str) -> Any:
        """The value of a probe call's reply, or the problem it reports."""
        status = response.get("status")
        if status == Reply.OK:
            value = response.get("value")
            why = wire.unacceptable(value)
            if why:
                raise StudentCodeProblem(ProblemKind.GARBAGE, f"the submission's objects returned {why}, "
                                         "which the grader does not judge: return ordinary tensors")
            return value
        if status == Reply.NO_PROBE:  # it was preloaded: the submission must have replaced it
            raise StudentCodeProblem(ProblemKind.GARBAGE, "the submission tampered with the grader's probes")
        raise self._problem(response, phase)

    def functions_only(self) -> Sandbox:
        """A sandbox over the submission's imports and functions alone, in workers of its own
        (``submission.functions_only``): its classes are never defined there. For checks that
        a file the submission wrote carries a model's architecture by itself."""
        if self._functions_only is None:
            self._functions_only = Sandbox(self.launcher, functions_only(self.submission), self.limits)
        return self._functions_only

    def execute_notebook(self, notebook_json: str, cell_s: float, total_s: float) -> dict[str, Any]:
        """Run the notebook top to bottom with nbclient in a worker of its own.

        Returns ``{"ok": True}`` or where and why it stopped: ``cell``, ``kind``, ``error``.
        """
        try:
            worker = self._started_worker()
        except StudentCodeProblem as problem:
            raise GraderFault(problem.message) from None
        try:
            response = self._exchange(worker, {"op": "execute", "notebook": notebook_json, "cell_s": cell_s},
                                      total_s, "while running the notebook")
        except StudentCodeProblem as problem:
            return {"ok": False, "cell": 0, "kind": problem.kind, "error": problem.message}
        finally:
            self._stop_worker()
        value = response.get("value")
        return value if isinstance(value, dict) else {"ok": False, "cell": 0, "kind": ProblemKind.GARBAGE,
                                                       "error": "the worker answered nonsense"}

    # -- workers --------------------------------------------------------------------

    def prepare(self) -> WorkerHandle:
        """A worker with the submission imported; raises what importing it raised."""
        if self.load_problem is not None:
            raise self.load_problem
        if self._worker is not None:
            return self._worker
        if self.submission.load_error:
            self.load_problem = StudentCodeProblem(ProblemKind.UNREADABLE, self.submission.load_error, True)
            raise self.load_problem
        worker = self._started_worker()
        phase = "while importing the submission"
        self._code_ran = True
        request, timeout = self.load_request()
        try:
            loaded = self._exchange(worker, request, timeout, phase)
        except StudentCodeProblem as problem:
            self.load_problem = problem  # importing again would only repeat it
            raise
        self.output = str(loaded.get("output", ""))
        if loaded.get("status") != Reply.LOADED:
            self.load_problem = self._problem(loaded, phase)
            self.load_problem.sticky = True
            self._stop_worker()
            raise self.load_problem
        if not self.notes:  # every worker runs the same cells: the first one's notes stand
            self.notes, self._undefined = cell_notes.read(loaded.get("notes"), self.submission.cells)
        return worker

    def load_request(self) -> tuple[dict[str, Any], float]:
        """What a fresh worker is asked to load, and how long it may take."""
        request: dict[str, Any] = {"op": "load", "source": self.submission.source,
                                   "filename": self.submission.filename}
        if self.submission.kind != "ipynb":
            return request, self.limits.load_s
        # A fresh worker after a crash runs the cells again, but not those that ran out of
        # time before: each would only spend its limit once more.
        skip = {note.cell for note in self.notes if note.kind == "timeout"}
        request.update(cells=[list(span) for span in self.submission.cells if span[0] not in skip],
                       cell_s=self.limits.notebook_cell_s)
        timeout = self.limits.load_s + self.limits.notebook_cell_s * len(request["cells"])
        return request, min(timeout, max(self.limits.budget_s - self._spent_s, 0.1))

    def _started_worker(self) -> WorkerHandle:
        """A fresh worker that has said hello (no submission in it yet)."""
        if self._workdir is None:  # used where the worker server has no private /tmp
            self._workdir = tempfile.mkdtemp(prefix="d2l-grader-")
        config = {
            "workdir": self._workdir,
            "memory_mb": self.limits.memory_mb,
            "cpu_s": self.limits.cpu_s,
            "file_mb": self.limits.file_mb,
            "max_processes": self.limits.max_processes,
            "debug": os.environ.get("GRADER_DEBUG_WORKER") == "1",
        }
        try:
            worker = self.launcher.start(config)
        except LauncherError as exc:
            # Even after the submission's code ran: where workers have no process bound of
            # their own, the processes that used up the machine's may be a classmate's (a
            # reviewer had one student's fork fill the limit: charging it to the next
            # submission cost a correct one 15 points). A grader fault costs nothing and is
            # graded again; the batch says isolation was partial.
            raise GraderFault(str(exc)) from exc
        self._worker = worker
        try:
            hello = self._exchange(worker, None, self.limits.load_s, "while starting")
        except StudentCodeProblem:
            if self._code_ran:  # what the submission did in an earlier worker may be why
                raise StudentCodeProblem(
                    ProblemKind.CRASHED, f"a new worker for the submission failed to start (exit code "
                    f"{worker.exitcode}) after its code had run in an earlier one", sticky=True) from None
            raise GraderFault(f"a worker failed to start (exit code {worker.exitcode}); "
                              "GRADER_DEBUG_WORKER=1 shows why") from None
        if hello.get("status") != Reply.HELLO:
            raise GraderFault(f"the worker did not start properly: {hello!r:.200}")
        self.isolation = self.isolation or hello.get("isolation")
        return worker

    def _exchange(
        self, worker: WorkerHandle, request: dict[str, Any] | None, timeout: float, phase: str
    ) -> dict[str, Any]:
        """Send ``request`` (if any) and read one response; a dead or hung worker is killed."""
        started = time.monotonic()
        try:
            if request is not None:
                worker.channel.send(wire.dumps(request))
            data = worker.channel.recv(self.limits.result_mb * 2**20, timeout)
        except TimeoutError:
            worker.kill()
            problem = StudentCodeProblem(
                ProblemKind.TIMEOUT,
                f"time limit: the submission's code ran longer than {timeout:g} s {phase} "
                "(an infinite loop, or far too much work?)",
                sticky=True,
            )
            return self._lost_worker(problem)
        except FrameTooLarge as exc:
            worker.kill()
            return self._lost_worker(StudentCodeProblem(
                ProblemKind.GARBAGE, f"the result was too large ({exc}) {phase}", sticky=True))
        except (ChannelClosed, BrokenPipeError, ConnectionResetError):
            return self._lost_worker(self._death_problem(worker, phase))
        finally:
            self._spent_s += time.monotonic() - started
        decoding = time.monotonic()
        try:
            response = wire.loads(data, max_header=wire.MAX_REPLY_HEADER)
        except Exception as exc:  # noqa: BLE001 - the worker may send anything at all
            worker.kill()
            return self._lost_worker(StudentCodeProblem(
                ProblemKind.GARBAGE,
                f"the worker sent data that is not a result ({type(exc).__name__}) {phase}", sticky=True))
        finally:
            # Decoding is the submission's time too: a reply crafted to be slow to decode
            # (many tensors) spends its budget, not the grader's.
            self._spent_s += time.monotonic() - decoding
        if not isinstance(response, dict):
            return self._lost_worker(StudentCodeProblem(
                ProblemKind.GARBAGE, f"the worker sent a {type(response).__name__}, not a result {phase}",
                sticky=True))
        return response

    def _lost_worker(self, problem: StudentCodeProblem) -> dict[str, Any]:
        self._stop_worker()
        raise problem

    def _death_problem(self, worker: WorkerHandle, phase: str) -> StudentCodeProblem:
        code = worker.finish()
        if worker.stopped:  # it closed its channel but went on running
            text = (f"the submission closed the worker's connection to the grader {phase}; "
                    "the worker was stopped")
        elif code < 0:
            sig = -code
            # Windows has neither signal (nor negative exit codes: see WINDOWS_CRASHES).
            sigkill, sigxcpu = getattr(signal, "SIGKILL", 9), getattr(signal, "SIGXCPU", 24)
            reason = {
                sigkill: f"killed (signal 9), most likely for going over the memory limit "
                         f"of {self.limits.memory_mb} MiB",
                sigxcpu: f"stopped for using more than {self.limits.cpu_s} s of CPU time",
                signal.SIGSEGV: "crashed (segmentation fault)",
                signal.SIGABRT: "aborted (SIGABRT)",
            }.get(sig, f"killed by signal {sig}")
            text = f"the worker running the submission was {reason} {phase}"
        elif code in WINDOWS_CRASHES:  # an NTSTATUS, where Windows reports a crash as an exit code
            text = f"the worker running the submission {WINDOWS_CRASHES[code]} {phase}"
        else:
            text = (f"the submission ended the worker process (exit code {code}) {phase}: "
                    "does it call os._exit() or exit() outside a main guard?")
        return StudentCodeProblem(ProblemKind.CRASHED, text, sticky=True)

    def _stop_worker(self) -> None:
        if self._worker is not None:
            # Nothing more is wanted from it, not even how it ends: kill it, and leave the
            # reaping to the worker server rather than wait for namespaces to wind down.
            self._worker.kill()
            self._worker.channel.close()
            self._worker = None

    # -- messages -------------------------------------------------------------------

    def _problem(self, response: dict[str, Any], phase: str) -> StudentCodeProblem:
        """The problem a failure reply reports; a reply out of turn is garbage."""
        status = str(response.get("status"))
        message = str(response.get("message", ""))
        if status == Reply.MISSING:
            name = str(response.get("name"))[:200]
            why = cell_notes.missing_name(name, self.notes, self._undefined)
            near = near_miss.did_you_mean(name, self.submission.source)
            return StudentCodeProblem(ProblemKind.MISSING, why + near, sticky=True)
        if status == Reply.NOT_IMPLEMENTED:
            detail = f": {message}" if message else ""
            return StudentCodeProblem(ProblemKind.NOT_IMPLEMENTED,
                                      f"not implemented yet (NotImplementedError{detail})", sticky=True)
        if status == Reply.SYNTAX:
            return self._syntax_problem(response, message)
        if status == Reply.EXIT:
            return StudentCodeProblem(
                ProblemKind.EXIT, f"the submission called sys.exit({response.get('code')}) {phase}; "
                "grading needs the module to load without exiting", sticky=True)
        if status == Reply.RAISED:
            return StudentCodeProblem(ProblemKind.RAISED, self._raised_message(response, phase))
        if status == Reply.BAD_RESULT:
            return StudentCodeProblem(
                ProblemKind.GARBAGE, f"the result could not be sent back {phase} ({message[:300]}): "
                "return tensors, numbers, strings, lists and dicts", sticky=True)
        # HELLO, LOADED, OK and NO_PROBE out of turn, or a status no worker sends.
        return StudentCodeProblem(ProblemKind.GARBAGE, f"the worker answered {status!r:.40} {phase}",
                                  sticky=True)

    def _syntax_problem(self, response: dict[str, Any], message: str) -> StudentCodeProblem:
        where = self.submission.where(int(response.get("lineno", 0)))
        text = str(response.get("text", ""))
        shown = f"\n    {text.strip()}" if text.strip() else ""
        return StudentCodeProblem(
            ProblemKind.SYNTAX, f"{response.get('type', 'SyntaxError')} in {self.submission.filename}, "
            f"{where}: {message}{shown}", sticky=True)

    def _raised_message(self, response: dict[str, Any], phase: str) -> str:
        kind, message = str(response.get("type")), str(response.get("message", ""))
        text = f"{kind}: {message}" if message else kind
        if kind == "MemoryError" or "can't allocate memory" in message:
            text = f"out of memory {phase} ({kind}): the worker may use {self.limits.memory_mb} MiB"
            text += f"\n  {message[:300]}" if message else ""
        frames = response.get("frames") or []
        calls = response.get("calls")
        lines = [text] + [f"  {call[:300]}" for call in (calls if isinstance(calls, list) else [])[:3]
                          if isinstance(call, str)]
        for lineno, function, code in frames[-3:]:
            where = self.submission.where(int(lineno))
            lines.append(f"  {self.submission.filename}, {where}, in {function}: {code}")
        if not frames:
            lines.append(f"  (raised {phase}, outside the submission's own lines)")
        if kind in ("ModuleNotFoundError", "ImportError"):
            lines.append(near_miss.missing_module_note(message).lstrip("\n"))
        return "\n".join(line for line in lines if line)
