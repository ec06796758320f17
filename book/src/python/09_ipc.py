"""Three ways for processes to talk: a queue, a pipe, and shared memory.

The last part increments one shared counter from several processes,
first without a lock (updates get lost) and then with one.
"""

import multiprocessing
import os

WORKERS = 4
INCREMENTS = 20_000


def producer(queue, count):
    for i in range(1, count + 1):
        queue.put(f"item {i} from pid {os.getpid()}")
    queue.put(None)  # a sentinel: "nothing more is coming"


def consumer(queue, results):
    received = 0
    while queue.get() is not None:
        received += 1
    results.put(f"consumer pid {os.getpid()} received {received} items")


def echo_upper(conn):
    message = conn.recv()
    conn.send(message.upper())
    conn.close()


def add_unlocked(counter, times, start_together):
    start_together.wait()           # every process begins adding at the same moment
    for _ in range(times):
        counter.value += 1          # read, then write: each step locked, the pair not


def add_locked(counter, times, start_together):
    start_together.wait()
    for _ in range(times):
        with counter.get_lock():    # only one process at a time in here
            counter.value += 1


def run_all(target, counter):
    start_together = multiprocessing.Barrier(WORKERS)
    workers = [multiprocessing.Process(target=target, args=(counter, INCREMENTS, start_together))
               for _ in range(WORKERS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


if __name__ == "__main__":
    print("1. queue: a producer process hands items to a consumer process")
    queue, results = multiprocessing.Queue(), multiprocessing.Queue()
    pair = [multiprocessing.Process(target=producer, args=(queue, 5)),
            multiprocessing.Process(target=consumer, args=(queue, results))]
    for p in pair:
        p.start()
    print("  ", results.get(timeout=10))
    for p in pair:
        p.join()

    print("2. pipe: two connected ends, one for each process")
    here, there = multiprocessing.Pipe()
    child = multiprocessing.Process(target=echo_upper, args=(there,))
    child.start()
    here.send("hello through the pipe")
    print(f"   sent 'hello through the pipe', got back {here.recv()!r}")
    child.join()

    expected = WORKERS * INCREMENTS
    print(f"3. shared memory: {WORKERS} processes each add 1 to a counter "
          f"{INCREMENTS:,} times (expected {expected:,})")
    counter = multiprocessing.Value("i", 0)
    run_all(add_unlocked, counter)
    lost = expected - counter.value
    print(f"   without a lock: {counter.value:,} ({lost:,} updates lost)")
    if lost == 0:
        print("   (none lost this time: no process was paused between its read and its write "
              "while another added; it is still a race)")
    counter = multiprocessing.Value("i", 0)
    run_all(add_locked, counter)
    print(f"   with a lock:    {counter.value:,}")
