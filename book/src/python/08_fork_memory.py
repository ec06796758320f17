"""Does a forked child share the parent's objects without copying them?

Only until it reads them. Reading a Python object changes its reference
count, which is stored in the object, so every page of objects the child
reads becomes the child's private copy. Private_Dirty in
/proc/self/smaps_rollup counts those copied pages (Linux only).
"""

import multiprocessing
import sys

ITEMS = 3_000_000


def private_dirty_mb():
    with open("/proc/self/smaps_rollup") as f:
        for line in f:
            if line.startswith("Private_Dirty:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def read_everything(numbers):
    before = private_dirty_mb()
    total = sum(numbers)              # only reads the list... and every int's refcount
    after = private_dirty_mb()
    print(f"  child: private dirty memory {before:.0f} MB before summing, "
          f"{after:.0f} MB after (sum {total:,})")


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}")
    if not sys.platform.startswith("linux"):
        sys.exit("this example reads /proc/self/smaps_rollup, which only Linux has")
    numbers = [n * 1001 for n in range(ITEMS)]   # ints above 256: real objects
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=read_everything, args=(numbers,))
    child.start()
    child.join()
