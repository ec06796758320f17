"""procbook's `gil` demo, Python's side: count the primes in a few equal windows of numbers,
serially, on threads and on processes, in interleaved rounds (serial, threads, processes,
serial, ...) so that other work on the machine falls on all three alike; report each run as
one JSON line, with its wall time and the CPU time it used (so procbook can say how many
cores it really had).

Arguments: how many parts, how long the serial run should take (seconds), how many rounds.
The window size is measured here, so that the job suits this machine's Python.
"""

import json
import multiprocessing
import os
import resource
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
    # The worker measures its own CPU time: under forkserver (3.14's default on Linux) the
    # workers are the server's children, so the parent's RUSAGE_CHILDREN never sees them.
    cpu = time.process_time()
    count = count_primes(part)
    return os.getpid(), count, time.process_time() - cpu


def serial(parts):
    return [count_primes(p) for p in parts], [os.getpid()], 0.0


def on_threads(parts):
    counts = [0] * len(parts)

    def work(i):
        counts[i] = count_primes(parts[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(parts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counts, [os.getpid()], 0.0


def on_processes(parts):
    with multiprocessing.Pool(len(parts)) as pool:
        results = pool.map(count_primes_in_worker, parts, chunksize=1)
    counts = [count for _, count, _ in results]
    return counts, sorted({pid for pid, _, _ in results}), sum(cpu for _, _, cpu in results)


def say(**fields):
    print(json.dumps(fields), flush=True)


def cpu_seconds():
    """CPU time used so far by every thread of this process."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(variant, run, parts, round_):
    say(event="begin", variant=variant, round=round_)
    start, cpu = time.perf_counter(), cpu_seconds()
    counts, pids, workers_cpu = run(parts)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu + workers_cpu
    say(event="end", variant=variant, round=round_, seconds=seconds, cpu=cpu, counts=counts,
        pids=pids)


if __name__ == "__main__":
    n_parts, target, rounds = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
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
    for round_ in range(rounds):
        timed("serial", serial, parts, round_)
        timed("threads", on_threads, parts, round_)
        timed("processes", on_processes, parts, round_)
