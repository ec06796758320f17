"""procbook's `gil` demo, Python's side: count the primes in a few equal windows of numbers,
serially, on threads and on processes, and report each run as one JSON line.

Arguments: how many parts, and how long the serial run should take (seconds). The window
size is measured here, so that the job suits this machine's Python.
"""

import json
import multiprocessing
import os
import sys
import threading
import time

FIRST = 1_000_000_000  # far from 0, so equal windows cost about the same to check


def is_prime(n):
    if n < 2:
        return False
    if n % 2 == 0:
        return n == 2
    d = 3
    while d * d <= n:
        if n % d == 0:
            return False
        d += 2
    return True


def count_primes(part):
    start, stop = part
    return sum(1 for n in range(start, stop) if is_prime(n))


def count_primes_in_worker(part):
    return os.getpid(), count_primes(part)


def serial(parts):
    return [count_primes(p) for p in parts], [os.getpid()]


def on_threads(parts):
    counts = [0] * len(parts)

    def work(i):
        counts[i] = count_primes(parts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts, [os.getpid()]


def on_processes(parts):
    with multiprocessing.Pool(len(parts)) as pool:
        results = pool.map(count_primes_in_worker, parts, chunksize=1)
    return [count for _, count in results], sorted({pid for pid, _ in results})


def say(**fields):
    print(json.dumps(fields), flush=True)


def cpu_seconds():
    """CPU time used by this process and its finished children (the pool's workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(variant, run, parts):
    say(event="begin", variant=variant)
    start, cpu = time.perf_counter(), cpu_seconds()
    counts, pids = run(parts)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    say(event="end", variant=variant, seconds=seconds, cpu=cpu, counts=counts, pids=pids)


if __name__ == "__main__":
    n_parts, target = int(sys.argv[1]), float(sys.argv[2])
    probe = 2000
    start = time.perf_counter()
    count_primes((FIRST, FIRST + probe))  # also warms the interpreter up
    per_number = (time.perf_counter() - start) / probe
    width = max(100, int(round(target / per_number / n_parts, -2)))
    parts = [(FIRST + i * width, FIRST + (i + 1) * width) for i in range(n_parts)]
    gil = sys._is_gil_enabled() if hasattr(sys, "_is_gil_enabled") else True
    say(event="start", version=sys.version.split()[0], gil=gil,
        switch_interval=sys.getswitchinterval(),
        start_method=multiprocessing.get_start_method(), pid=os.getpid(), parts=parts)
    timed("serial", serial, parts)
    timed("threads", on_threads, parts)
    timed("processes", on_processes, parts)
