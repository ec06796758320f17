"""Threads share one memory; processes each have their own.

The same function appends to a module-level list, once in a thread
and once in a child process. Only the thread's change is visible
to the main program afterwards.
"""

import multiprocessing
import os
import threading

notes = ["written by main"]


def add_note(who):
    notes.append(f"written by {who} (pid {os.getpid()})")
    print(f"  inside {who}: the list now has {len(notes)} items")


if __name__ == "__main__":
    print(f"main program, pid {os.getpid()}")

    thread = threading.Thread(target=add_note, args=("a thread",))
    thread.start()
    thread.join()
    print(f"after the thread:  {notes}")

    child = multiprocessing.Process(target=add_note, args=("a child process",))
    child.start()
    child.join()
    print(f"after the process: {notes}")
    print("the child changed its own copy; the main program never saw it")
