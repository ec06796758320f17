"""Start one child with each start method this platform offers.

Watch three things: which lines the module prints while being imported,
what the child sees as its module's __name__, and whether the child sees
a change the parent made inside the `if __name__ == "__main__":` block.
"""

import multiprocessing
import os
import time

SETTING = "as written in the file"
print(f"  (module imported as {__name__!r} in pid {os.getpid()})")


def report(method):
    print(f"  [{method}] child pid {os.getpid()}: __name__ is {__name__!r}, "
          f"SETTING is {SETTING!r}")
    print(f"  [{method}] its parent: os.getppid() {os.getppid()}, "
          f"multiprocessing.parent_process() {multiprocessing.parent_process().pid}")


if __name__ == "__main__":
    SETTING = "changed by the parent at run time"
    print(f"main program: pid {os.getpid()}; "
          f"default start method here: {multiprocessing.get_start_method()}")
    for method in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context(method)
        start = time.perf_counter()
        child = ctx.Process(target=report, args=(method,))
        child.start()
        child.join()
        took = (time.perf_counter() - start) * 1000
        print(f"{method}: {child.name} started, ran and exited in {took:.0f} ms")
