"""The same CPU-bound job, run serially, on threads and on processes.

With the GIL, only one thread at a time runs Python bytecode, so two threads
take about as long as doing the two jobs one after the other, and together
they never use more than one core. Two processes each have their own
interpreter (and their own GIL), so on a machine with two free cores they
overlap.

On a busy machine times jump about, so the three kinds are run in
interleaved rounds (serial, threads, processes, serial, ...) and reported
by their median. The figure noise cannot fake comes first: cores used,
the CPU time a run got divided by its wall time.
"""

import multiprocessing
import os
import statistics
import sys
import threading
import time

JOBS = 2
N = 1_500_000  # loop steps per job: a small fraction of a second
ROUNDS = 5


def count_down(n):
    while n > 0:
        n -= 1


def cpu_of_this_process():
    return time.process_time()  # CPU time of every thread of this process


def serial():
    for _ in range(JOBS):
        count_down(N)
    return 0.0


def on_threads():
    workers = [threading.Thread(target=count_down, args=(N,)) for _ in range(JOBS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return 0.0


def count_down_and_report(n, results):
    start = time.process_time()
    count_down(n)
    results.put(time.process_time() - start)  # a child's CPU time, sent to the parent


def on_processes():
    results = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=count_down_and_report, args=(N, results))
               for _ in range(JOBS)]
    for w in workers:
        w.start()
    children_cpu = sum(results.get() for _ in workers)
    for w in workers:
        w.join()
    return children_cpu


def measure(run):
    """Wall time and cores used (CPU seconds over wall seconds) of one run."""
    start, cpu = time.perf_counter(), cpu_of_this_process()
    children_cpu = run()
    wall = time.perf_counter() - start
    return wall, (cpu_of_this_process() - cpu + children_cpu) / wall


if __name__ == "__main__":
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    print(f"python {sys.version.split()[0]}, GIL enabled: {gil}, "
          f"start method: {multiprocessing.get_start_method()}")
    print(f"{JOBS} jobs of {N:,} loop steps each; {ROUNDS} interleaved rounds, medians")
    count_down(N // 4)  # warm up, so the first measurement is not penalised
    kinds = {"serial (one thread)": serial, f"{JOBS} threads": on_threads,
             f"{JOBS} processes": on_processes}
    samples = {label: [] for label in kinds}
    for _ in range(ROUNDS):
        for label, run in kinds.items():
            samples[label].append(measure(run))
    median = {label: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
              for label, s in samples.items()}
    base, serial_cores = median["serial (one thread)"]
    _, process_cores = median[f"{JOBS} processes"]
    cores = os.process_cpu_count() if hasattr(os, "process_cpu_count") else os.cpu_count()
    if cores is not None and cores < 2:
        print("This process may use only one core, so processes cannot gain here either. "
              "Cores used by the threads still shows the GIL.")
    elif serial_cores < 0.85 or process_cores < 1.5:
        print(f"This machine was busy with other work: the serial run had {serial_cores:.2f} "
              f"of a core and the processes {process_cores:.2f} cores, so the speedups below "
              f"cannot show what processes gain. Cores used by the threads still shows the GIL.")
    print(f"{'run':<20} {'cores used':>10} {'time':>8} {'min-max':>13} {'speed':>7}")
    for label, s in samples.items():
        wall, cores = median[label]
        spread = f"{min(w for w, _ in s):.2f}-{max(w for w, _ in s):.2f} s"
        print(f"{label:<20} {cores:>10.2f} {wall:>6.3f} s {spread:>13} {base / wall:>6.2f}x")
