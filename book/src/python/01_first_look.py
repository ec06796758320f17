"""A first look: one program, several processes, each with its own PID.

The same function runs in the main process and in two child processes.
Each one reports who it is: its process ID (from the operating system)
and its name (from multiprocessing).
"""

import multiprocessing
import os


def whoami(label):
    me = multiprocessing.current_process()
    print(f"{label:<7} pid={os.getpid():<7} parent={os.getppid():<7} name={me.name}")


if __name__ == "__main__":
    cores = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    print(f"cores this process may use: {cores}")
    print(f"start method: {multiprocessing.get_start_method()}")
    whoami("main")
    children = [
        multiprocessing.Process(target=whoami, args=(f"child {i}",)) for i in (1, 2)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join()
    print("every line above came from a different process")
