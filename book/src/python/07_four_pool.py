"""The same four numbers, printed by pool workers.

A pool of six runs first, as in a notebook where an earlier cell
made a pool. Worker names come from one counter for the whole
program, so the second pool's workers continue the numbering.
"""

import multiprocessing


def print_number(number):
    print(f"Process {multiprocessing.current_process().name}: {number}")


def nothing(_):
    return None


if __name__ == "__main__":
    with multiprocessing.Pool(processes=6) as earlier_pool:
        earlier_pool.map(nothing, range(6))

    with multiprocessing.Pool(processes=4) as pool:
        pool.map(print_number, [1, 2, 3, 4])
