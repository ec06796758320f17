"""What the `if __name__ == "__main__":` guard protects.

Top-level code runs whenever this file is imported. With the spawn and
forkserver start methods, that includes a fresh interpreter importing it
on a child's behalf, under the name "__mp_main__". The guard keeps the
process-starting code to the program you actually ran. This script asks for
spawn, so the child's import shows on every Python and platform (fork, the
default on Linux before 3.14, copies the parent instead of importing).
"""

import multiprocessing
import os

print(f"top level: this file is running as {__name__!r} in pid {os.getpid()}")


def work():
    print(f"work(): running in the child, pid {os.getpid()}")


if __name__ == "__main__":
    multiprocessing.set_start_method("spawn")
    print(f"guarded block: only the main program gets here (start method: "
          f"{multiprocessing.get_start_method()})")
    child = multiprocessing.Process(target=work)
    child.start()
    child.join()
