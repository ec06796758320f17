"""What parallelism costs before it pays: a few overheads, measured.

Each figure is the median of several repeats on this machine, right now.
Compare the ratios between rows; the absolute numbers will differ on
your machine, and even between two runs on the same one.
"""

import multiprocessing
import statistics
import threading
import time

REPEATS = 5


def nothing():
    pass


def square(n):
    return n * n


def median_seconds(action, repeats=REPEATS):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def start_join_thread():
    t = threading.Thread(target=nothing)
    t.start()
    t.join()


def start_join_process():
    p = multiprocessing.Process(target=nothing)
    p.start()
    p.join()


def create_and_close_pool():
    with multiprocessing.Pool(processes=2) as pool:
        pool.map(square, [1, 2])


if __name__ == "__main__":
    print(f"start method: {multiprocessing.get_start_method()}; medians")
    call = median_seconds(lambda: nothing(), repeats=1000)
    thread = median_seconds(start_join_thread, repeats=50)
    process = median_seconds(start_join_process)
    pool = median_seconds(create_and_close_pool)
    print(f"  call a function:               {call * 1e6:10.2f} us")
    print(f"  start + join a thread:         {thread * 1e6:10.1f} us  ({thread / call:,.0f}x a call)")
    print(f"  start + join a process:       {process * 1e6:10.0f} us  ({process / thread:,.0f}x a thread)")
    print(f"  create a pool of 2 and close: {pool * 1e6:10.0f} us")

    items = list(range(10_000))
    with multiprocessing.Pool(processes=2) as workers:
        workers.map(square, [0, 1])  # warm up: make sure both are running
        in_pool = median_seconds(lambda: workers.map(square, items))
    in_loop = median_seconds(lambda: [square(n) for n in items])
    print(f"square 10,000 numbers in a plain loop: {in_loop * 1e3:8.2f} ms")
    print(f"square 10,000 numbers with pool.map:   {in_pool * 1e3:8.2f} ms "
          f"({in_pool / in_loop:.1f}x the loop)")
    print("  (the pool pickles the items in chunks, pipes them to the workers, and the results back)")
