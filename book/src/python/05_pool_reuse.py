"""Why a pool: start a few processes once, then reuse them for many tasks.

The same sixteen small tasks run twice: once with a new process per task,
once on a pool of two worker processes.
"""

import multiprocessing
import os
import time

TASKS = 16


def square(x):
    return x * x


def square_and_pid(x):
    return x * x, os.getpid()


def one_process_per_task():
    children = [multiprocessing.Process(target=square, args=(x,)) for x in range(TASKS)]
    for child in children:
        child.start()
    for child in children:
        child.join()
    return {child.pid for child in children}


def pool_of_two():
    with multiprocessing.Pool(processes=2) as pool:
        results = pool.map(square_and_pid, range(TASKS))
    return {pid for _, pid in results}


if __name__ == "__main__":
    start = time.perf_counter()
    pids = one_process_per_task()
    print(f"one process per task: {TASKS} tasks ran in {len(pids)} processes, "
          f"{time.perf_counter() - start:.3f} s")

    start = time.perf_counter()
    pids = pool_of_two()
    print(f"a pool of 2 workers:  {TASKS} tasks ran in {len(pids)} of its 2 processes, "
          f"{time.perf_counter() - start:.3f} s")
