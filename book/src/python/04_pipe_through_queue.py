"""What may travel through a Queue after the child has started?

A Pipe's Connection may: multiprocessing registers a way to pickle it
(it sends the file descriptor itself). A Lock or a Queue may not: pickling
one outside of starting a process raises RuntimeError. Queue.put() does
not pickle at once (a feeder thread does, later), so in a real program
put() returns normally and the error appears on stderr from that thread;
here the same pickling is done directly so you can read the error.
"""

import multiprocessing
import sys
from multiprocessing.reduction import ForkingPickler


def use_the_pipe(queue):
    conn = queue.get()
    conn.send(f"hello from {multiprocessing.current_process().name}, "
              f"over a pipe end that came through the queue")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        multiprocessing.set_start_method(sys.argv[1])
    print(f"start method: {multiprocessing.get_start_method()}")
    queue = multiprocessing.Queue()
    child = multiprocessing.Process(target=use_the_pipe, args=(queue,))
    child.start()
    here, there = multiprocessing.Pipe()   # made after start()
    queue.put(there)
    print(f"pipe through the queue: {here.recv()!r}")
    child.join()
    for thing in (multiprocessing.Lock(), multiprocessing.Queue()):
        try:
            ForkingPickler.dumps(thing)
            print(f"{type(thing).__name__}: pickled")
        except RuntimeError as e:
            print(f"{type(thing).__name__}: RuntimeError: {e}")
