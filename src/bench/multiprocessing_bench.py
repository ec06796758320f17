"""Python's side of `procbook bench`: the same overheads, measured with multiprocessing.

Prints one JSON object. Every figure is a median over repeats, in microseconds.
"""
import json
import multiprocessing as mp
import statistics
import sys
import time


def noop(n):
    return n


def median_us(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e6)
    return statistics.median(times)


def process_spawn(ctx):
    p = ctx.Process(target=noop, args=(0,))
    p.start()
    p.join()
    if p.exitcode != 0:
        raise SystemExit(f"a {ctx.get_start_method()} child failed with exitcode {p.exitcode}")


def per_task_us(pool, items, chunksize, repeats):
    def run():
        pool.map(noop, range(items), chunksize)
    return median_us(run, repeats) / items


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 11
    items = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    million = int(sys.argv[4]) if len(sys.argv) > 4 else 1_000_000
    million_repeats = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    spawn_us = {}
    for method in ("fork", "forkserver", "spawn"):
        if method not in mp.get_all_start_methods():
            spawn_us[method] = None
            continue
        ctx = mp.get_context(method)
        process_spawn(ctx)  # warm up (forkserver starts its server here)
        spawn_us[method] = median_us(lambda: process_spawn(ctx), repeats)
    method = mp.get_start_method()
    ctx = mp.get_context(method)

    def pool_cycle():
        with ctx.Pool(workers) as pool:
            pool.map(noop, range(workers))

    pool_start = median_us(pool_cycle, max(3, repeats // 2))
    with ctx.Pool(workers) as pool:
        pool.map(noop, range(items))  # warm up
        chunk1 = per_task_us(pool, items, 1, max(3, repeats // 2))
        default = per_task_us(pool, items * 10, None, max(3, repeats // 2))
        big = per_task_us(pool, million, None, million_repeats)
    print(json.dumps({
        "version": sys.version.split()[0],
        "start_method": method,
        "process_spawn_us": spawn_us,
        "pool_start_us": pool_start,
        "task_chunk1_us": chunk1,
        "task_default_us": default,
        "task_million_us": big,
    }))


if __name__ == "__main__":
    main()
