"""Two ways to write "add one to a shared counter" from four threads.

`counter += 1` on its own loses no updates on CPython 3.10 to 3.14: since
3.10 a thread hands over the GIL only at a call or a backward jump (the
end of a loop iteration), never between the load and the store of one
`+=`. Put a function call between the read and the write, as real code
usually does (a log line, a lookup, a method), and the switch can land
there: another thread adds meanwhile, and this one writes back a stale
value. The lock makes the read-call-write one step again.
"""

import sys
import threading

THREADS = 4
TIMES = 200_000
counter = 0
lock = threading.Lock()


def check(value):
    """Stands for any call: a log line, a lookup, a validation."""
    return value


def add_plain(times):
    global counter
    for _ in range(times):
        counter += 1


def add_with_a_call(times):
    global counter
    for _ in range(times):
        seen = counter
        check(seen)          # a call: the GIL can change hands here
        counter = seen + 1


def add_with_a_lock(times):
    global counter
    for _ in range(times):
        with lock:
            seen = counter
            check(seen)
            counter = seen + 1


def run(target):
    global counter
    counter = 0
    threads = [threading.Thread(target=target, args=(TIMES,)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    expected = THREADS * TIMES
    print(f"{target.__name__:<16} {counter:>9,} of {expected:,}: "
          f"{expected - counter:,} updates lost")


if __name__ == "__main__":
    print(f"python {sys.version.split()[0]}, {THREADS} threads each add 1 {TIMES:,} times")
    run(add_plain)
    run(add_with_a_call)
    run(add_with_a_lock)
