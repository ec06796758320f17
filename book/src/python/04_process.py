"""Create one process, wait for it, and read its exit code.

The child reports its parent twice: os.getppid() is the process the
operating system says created it; multiprocessing.parent_process() is
the one that called start(). Under the default start method of Python
3.14 on Linux (forkserver) they differ.
"""

import multiprocessing
import os


def greet(name):
    me = multiprocessing.current_process()
    print(f"hello, {name}, from {me.name} (pid {os.getpid()}, os.getppid() "
          f"{os.getppid()}, parent_process() {multiprocessing.parent_process().pid})")


if __name__ == "__main__":
    print(f"main process: pid {os.getpid()}, start method "
          f"{multiprocessing.get_start_method()}")
    child = multiprocessing.Process(target=greet, args=("Alice",))
    print(f"created {child.name}; alive: {child.is_alive()}, pid: {child.pid}")
    child.start()   # ask the operating system for a new process
    child.join()    # wait until it has finished
    print(f"{child.name} finished; pid was {child.pid}, exit code {child.exitcode}")
