"""The same CPU-bound job, run serially, on threads and on processes.

With the GIL, only one thread runs Python bytecode at a time, so two
threads take about as long as doing the two jobs one after the other.
Two processes each have their own interpreter (and their own GIL), so
on a machine with two or more free cores they can overlap.
"""

import multiprocessing
import sys
import threading
import time

JOBS = 2
N = 1_500_000  # loop steps per job: a small fraction of a second


def count_down(n):
    while n > 0:
        n -= 1


def timed(label, run, baseline=None):
    # Best of two runs: a slow outlier (another program busy on the same
    # cores) is less likely to hit both.
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    ratio = "" if baseline is None else f"  ({baseline / best:.2f}x the serial speed)"
    print(f"{label:<22} {best:6.3f} s{ratio}")
    return best


def serial():
    for _ in range(JOBS):
        count_down(N)


def on_threads():
    workers = [threading.Thread(target=count_down, args=(N,)) for _ in range(JOBS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def on_processes():
    workers = [multiprocessing.Process(target=count_down, args=(N,)) for _ in range(JOBS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    print(f"python {sys.version.split()[0]}, GIL enabled: {gil}, "
          f"switch interval: {sys.getswitchinterval() * 1000:g} ms")
    print(f"{JOBS} jobs of {N:,} loop steps each; best of 2 runs")
    count_down(N // 4)  # warm up, so the first measurement is not penalised
    base = timed("serial (one thread)", serial)
    timed(f"{JOBS} threads", on_threads, base)
    timed(f"{JOBS} processes", on_processes, base)
