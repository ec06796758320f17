"""daemon=True means "terminate this child when the parent *exits normally*":
the parent's atexit handler does it. A parent killed with SIGKILL runs no
handler, and its daemon child lives on, adopted by another process.
"""

import multiprocessing
import os
import signal
import sys
import time


def linger(seconds):
    time.sleep(seconds)  # bounded, so it cannot outlive the example for long


def parent(report):
    child = multiprocessing.Process(target=linger, args=(30,), daemon=True)
    child.start()
    report.send(child.pid)   # a pipe's send() is done when it returns
    os.kill(os.getpid(), signal.SIGKILL)   # no atexit, no cleanup


def state(pid):
    """The process's state letter ("Z" for a zombie), or None if it is gone."""
    if not os.path.isdir("/proc/self"):  # not Linux: ask the OS if the PID exists
        try:
            os.kill(pid, 0)
            return "R"
        except ProcessLookupError:
            return None
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


if __name__ == "__main__":
    if len(sys.argv) > 1:
        multiprocessing.set_start_method(sys.argv[1])
    report, there = multiprocessing.Pipe(duplex=False)
    middle = multiprocessing.Process(target=parent, args=(there,))
    middle.start()
    if not report.poll(10):
        sys.exit("the parent did not report its daemon child within 10 s")
    daemon_pid = report.recv()
    middle.join()
    print(f"the parent (pid {middle.pid}) was killed: exit code {middle.exitcode}")
    alive = state(daemon_pid) not in (None, "Z")
    print(f"its daemon child (pid {daemon_pid}) is still running: {alive}")
    if alive:
        os.kill(daemon_pid, signal.SIGKILL)   # clean up after the lesson
        for _ in range(100):
            if state(daemon_pid) in (None, "Z"):
                break
            time.sleep(0.05)
        print(f"cleaned up: the daemon child is gone: {state(daemon_pid) in (None, 'Z')}")
