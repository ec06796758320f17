"""Create a pool of worker processes and give it work three ways."""

import multiprocessing
import os


def square(n):
    return n * n


def square_with_worker(n):
    return n, n * n, multiprocessing.current_process().name


if __name__ == "__main__":
    numbers = [1, 2, 3, 4, 5, 6, 7, 8, 9]

    with multiprocessing.Pool(processes=3) as pool:
        # map: one call, results in input order
        print("map:", pool.map(square, numbers))

        # map again, this time reporting which worker did what
        for n, sq, worker in pool.map(square_with_worker, numbers, chunksize=1):
            print(f"  {n} -> {sq:<3} computed by {worker}")

        # apply_async: one call, runs in the background
        pending = pool.apply_async(square, (12,))
        print("apply_async(square, (12,)).get():", pending.get(timeout=10))

        # imap_unordered: results as soon as each is ready
        print("imap_unordered:", list(pool.imap_unordered(square, numbers)))

    print(f"pool closed; main process {os.getpid()} carries on")
