"""Four processes, each printing a different number."""

import multiprocessing
import os


def print_number(number):
    name = multiprocessing.current_process().name
    print(f"{name} (pid {os.getpid()}) prints {number}")


if __name__ == "__main__":
    processes = [
        multiprocessing.Process(target=print_number, args=(number,))
        for number in [1, 2, 3, 4]
    ]
    for p in processes:
        p.start()          # all four are started before we wait for any
    for p in processes:
        p.join()
    print("started in the order 1, 2, 3, 4; printed in whatever order they ran")
