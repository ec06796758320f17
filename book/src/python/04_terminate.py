"""terminate() does not ask: SIGTERM's default action ends the child at once,
and its `finally` block never runs. interrupt() (Python 3.14) or a signal
handler of your own is how a child gets to clean up.
"""

import multiprocessing
import os
import sys
import tempfile
import time


def work(started, marker):
    try:
        started.set()
        time.sleep(30)
    finally:
        with open(marker, "w") as f:   # the proof that finally ran
            f.write("finally ran")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        multiprocessing.set_start_method(sys.argv[1])
    with tempfile.TemporaryDirectory() as scratch:
        marker = os.path.join(scratch, "finally-ran")
        started = multiprocessing.Event()
        child = multiprocessing.Process(target=work, args=(started, marker))
        child.start()
        if not started.wait(10):
            child.kill()
            sys.exit("the child did not start within 10 s")
        print(f"parent: the child (pid {child.pid}) is inside try; calling terminate()")
        child.terminate()
        child.join()
        print(f"parent: exit code {child.exitcode} (-15 is SIGTERM); "
              f"the finally block ran: {os.path.exists(marker)}")
