"""Create one process, wait for it, and read its exit code."""

import multiprocessing
import os


def greet(name):
    me = multiprocessing.current_process()
    print(f"hello, {name}, from {me.name} (pid {os.getpid()}, parent {os.getppid()})")


if __name__ == "__main__":
    print(f"main process: pid {os.getpid()}")
    child = multiprocessing.Process(target=greet, args=("Alice",))
    print(f"created {child.name}; alive: {child.is_alive()}, pid: {child.pid}")
    child.start()   # ask the operating system for a new process
    child.join()    # wait until it has finished
    print(f"{child.name} finished; pid was {child.pid}, exit code {child.exitcode}")
