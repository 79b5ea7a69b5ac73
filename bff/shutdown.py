"""Bounded shutdown of every process of ``govhub serve`` (docs/operations.md, "Stopping the hub").

SIGTERM (or SIGINT) to the main process starts the stop; Sanic's manager passes it on to the
workers and the scheduler process, from its own loop (``stop_from_manager_loop`` says why not from
the signal handler). ``GOVHUB_SHUTDOWN_SECONDS`` (S) bounds it all, split so that each
layer ends before the one that waits for it:

- requests in flight get ``request_grace(S)`` to finish (Sanic's GRACEFUL_SHUTDOWN_TIMEOUT), and so do
  the scheduler's running jobs; then what is left is cancelled and the hub's pools are closed;
- a worker or the scheduler still alive ``child_deadline(S)`` after its stop began ends itself
  (``last_resort``): it logs which threads kept it and exits at once;
- the main process does the same at S, after killing the children it still has.

Why a last resort at all: a Python process ends only when every non-daemon thread has ended, and
one blocked for good (e.g. aiosqlite's connection thread, waiting on its queue for a close that
never comes) keeps a stopped process alive for ever — and Sanic's main process joins its children
without a timeout, so one such child kept the whole hub alive. The cause found is fixed (the
scheduler closes the database only after its jobs are done); this bounds whatever comes next.

The other way round, a main process killed outright (kill -9, the OOM killer) runs nothing of its
own: its workers would serve on, orphaned. So every child of the hub asks the kernel to be told
when its parent dies (``die_with_parent``, Linux's PR_SET_PDEATHSIG) and then stops as if it had
been sent SIGTERM: requests in flight finished, within the same bounds.
"""
from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback

log = logging.getLogger("govhub.shutdown")

EXIT_CODE = 70  # EX_SOFTWARE: the stop did not finish in time (distinguishable from a clean 0)


def request_grace(seconds: float) -> float:
    """How long requests in flight (and scheduler jobs) may still run once a stop began."""
    return max(1.0, seconds - 3.0)


def child_deadline(seconds: float) -> float:
    """When a worker or the scheduler process ends itself, counted from its stop."""
    return max(request_grace(seconds) + 0.5, seconds - 1.5)


_armed = threading.Event()


def last_resort(seconds: float, what: str, *, kill_children: bool = False) -> None:
    """Arm (once per process) a timer that ends this process ``seconds`` from now if it is still
    alive then, logging the threads that kept it. A daemon timer: it never keeps a process alive."""
    if _armed.is_set():
        return
    _armed.set()
    started = time.monotonic()

    def fire() -> None:
        stuck = _threads_report()
        log.error("%s [%s] still alive %.1f s after its stop began: exiting now. Threads: %s",
                  what, os.getpid(), time.monotonic() - started, stuck)
        if kill_children:
            children = multiprocessing.active_children()
            for child in children:  # where each one stands, into the log (``report_threads_on``)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, REPORT_SIGNAL)
            time.sleep(0.3 if children else 0)
            for child in children:
                log.error("killing %s [%s]", child.name, child.pid)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child.pid, signal.SIGKILL)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # exiting anyway; a closed stream must not stop that
                stream.flush()
        os._exit(EXIT_CODE)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.name = "govhub-last-resort"
    timer.start()


REPORT_SIGNAL = signal.SIGUSR1


def report_threads_on(signum: int = REPORT_SIGNAL) -> None:
    """On ``signum``, this process writes every thread's stack to stderr (faulthandler, which works
    even when the process is stuck), and carries on. Children of the hub call it as they start, so
    that the main process's last resort can say what held a child that would not stop."""
    faulthandler.register(signum, all_threads=True, chain=False)


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent: int | None = None, signum: int = signal.SIGTERM) -> bool:
    """Have the kernel send ``signum`` to this process when its parent process ends (Linux's
    PR_SET_PDEATHSIG; elsewhere nothing is done and False is returned). ``parent``: the pid the
    parent should have; if it has already ended (this process was adopted), ``signum`` comes now.

    Call it in the child itself (the setting is per process and not inherited by its children).
    The kernel counts the parent's death from the thread that started the child: Sanic's manager
    and multiprocessing start their processes from the main thread, which ends with the process."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signum), 0, 0, 0) != 0:
            log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %s", ctypes.get_errno())
            return False
    except (OSError, AttributeError) as exc:  # no libc to be found: a child outlives its parent, as before
        log.warning("prctl(PR_SET_PDEATHSIG) unavailable: %s", exc)
        return False
    if parent is not None and os.getppid() != parent:  # it died before the kernel was asked
        os.kill(os.getpid(), signum)
    return True


def as_child_of_the_hub() -> None:
    """What every child process of the hub (a worker, the scheduler) does as it starts: it stops
    when the main process dies outright, and it can be asked where its threads stand."""
    die_with_spawning_parent()
    report_threads_on()


def die_with_spawning_parent(signum: int = signal.SIGTERM) -> bool:
    """``die_with_parent`` in a process that multiprocessing started (Sanic's workers and the
    scheduler process); in any other process (the main process) nothing is done."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return False
    return die_with_parent(parent.pid, signum)


def stop_from_manager_loop(manager, seconds: float) -> None:
    """Take SIGTERM and SIGINT in Sanic's main process so that the stop runs in its manager's loop,
    not inside the signal handler, and only once every worker can take it; arm the main process's
    last resort.

    Why not in the handler: Sanic's own (``WorkerManager.shutdown_signal``) stops the workers right
    there, and stopping a worker writes its state to the shared ``worker_state`` dict — a proxy of
    multiprocessing's manager process, spoken to over one connection. The manager's loop reads that
    dict ten times a second, so the signal often lands in the middle of such a read (request sent,
    answer half received); the handler's own call on the same connection then reads the other's
    answer, the stream is out of step, and the main thread blocks in ``Connection.recv`` (or
    ``send``) for good. Sanic's loop understands a ``"__TERMINATE__"`` message on its monitor pipe
    (the same stop, between proxy calls): that is all that is sent.

    Why wait for the workers: a worker acknowledges its start before it has set up its own signal
    handling, and ignores SIGINT for a moment in between; a stop sent then is lost and that worker
    serves on. So the message goes once every live worker says it is serving (bounded wait), from a
    thread of its own — a proxy speaks over one connection per thread, so it meets no other call.
    A second signal once the stop is under way is Sanic's "kill now", which touches no proxy."""
    asked = threading.Event()

    def post_when_serving() -> None:
        asked.wait()
        deadline = time.monotonic() + request_grace(seconds) / 2
        while time.monotonic() < deadline and _workers_starting(manager):
            time.sleep(0.05)
        manager.monitor_publisher.send("__TERMINATE__")

    threading.Thread(target=post_when_serving, name="govhub-stop", daemon=True).start()

    def handle(signum, frame) -> None:
        last_resort(seconds, "main process", kill_children=True)
        if manager._shutting_down:  # noqa: SLF001 - Sanic's flag for a stop already under way
            manager.shutdown_signal(signum, frame)
        elif not asked.is_set():
            log.info("received %s: stopping", signal.Signals(signum).name)
            asked.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, handle)


def _workers_starting(manager) -> list[str]:
    """Sanic's live server processes that have not yet said they are serving."""
    try:
        states = manager.worker_state.copy()
    except (OSError, EOFError):  # the state manager is gone: nothing to wait for
        return []
    alive = {process.name for process in manager.processes if process.is_alive()}
    return [name for name, state in states.items()
            if state.get("server") and not state.get("serving") and name in alive]


def _threads_report() -> str:
    """The live threads other than this one, each with where it stands (its innermost frames)."""
    frames = sys._current_frames()
    lines = []
    for thread in threading.enumerate():
        if thread is threading.current_thread():
            continue
        frame = frames.get(thread.ident)
        where = " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno} {f.name}"
                            for f in reversed(traceback.extract_stack(frame)[-3:])) if frame else "?"
        lines.append(f"{thread.name}{' (daemon)' if thread.daemon else ''}: {where}")
    return "; ".join(lines) or "none"
