"""Who is a child's parent? Ask the OS, and ask multiprocessing.

`os.getppid()` is the process that the operating system says created this
one. `multiprocessing.parent_process()` is the process that called
`start()`. Under fork and spawn they are the same process. Under
forkserver (the default on Linux since Python 3.14) a fork server creates
every child, so the operating system names the server as the parent.
"""

import multiprocessing
import os


def report(method):
    print(f"  {method:<10} child pid {os.getpid()}: os.getppid() = {os.getppid()}, "
          f"parent_process().pid = {multiprocessing.parent_process().pid}")


if __name__ == "__main__":
    print(f"main program: pid {os.getpid()}")
    for method in multiprocessing.get_all_start_methods():
        child = multiprocessing.get_context(method).Process(target=report, args=(method,))
        child.start()
        child.join()
