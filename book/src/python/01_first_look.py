"""A first look: one program, several processes, each with its own PID.

The same function runs in the main process and in two child processes.
Each one reports who it is: its process ID (from the operating system)
and its name (from multiprocessing), and who its parent is, asked both
ways: the operating system's answer (os.getppid()) and multiprocessing's
(parent_process(), the process that called start()).

The script asks for forkserver, the default on Linux since Python 3.14,
so that older Pythons show what 3.14 does.
"""

import multiprocessing
import os


def whoami(label):
    me = multiprocessing.current_process()
    starter = multiprocessing.parent_process()
    started_by = starter.pid if starter else "-"
    print(f"{label:<7} pid={os.getpid():<7} os.getppid()={os.getppid():<7} "
          f"parent_process()={started_by!s:<7} name={me.name}")


if __name__ == "__main__":
    if "forkserver" in multiprocessing.get_all_start_methods():
        multiprocessing.set_start_method("forkserver")
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
