"""A worker process dies abruptly; the parent survives and finds out.

Part 1: a plain Process is killed mid-task; the parent reads its exit code.
Part 2: a worker in a ProcessPoolExecutor dies; the executor reports the
        pool as broken instead of waiting forever.
Part 3: a worker in a multiprocessing.Pool dies; the pool quietly replaces
        it, but the task it was running never reports back.
Part 4: a real crash (a segmentation fault) inside one *thread* ends
        the whole process, including the work of every other thread in it.
"""

import concurrent.futures
import faulthandler
import multiprocessing
import os
import signal
import threading
import time


def die_abruptly():
    # Like a segfault or the out-of-memory killer: no exception, no cleanup.
    if hasattr(signal, "SIGKILL"):
        os.kill(os.getpid(), signal.SIGKILL)
    os._exit(70)


def task(n):
    if n == 3:
        die_abruptly()
    time.sleep(0.05)
    return n * n


def worker_names():
    return sorted(p.name for p in multiprocessing.active_children())


def segfault_in_this_thread():
    # A real invalid memory access, made by this thread, as a bug in a C extension would
    # (faulthandler._sigsegv is a helper CPython's own tests use). The signal goes to the
    # thread that faulted, and its default action ends the whole process.
    faulthandler._sigsegv()


def busy_main_thread_with_crashing_helper():
    try:
        import resource
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core file, please
    except (ImportError, ValueError, OSError):
        pass
    threading.Thread(target=segfault_in_this_thread).start()
    time.sleep(1)
    print("   main thread of the child: finished (never printed)")


if __name__ == "__main__":
    print(f"parent pid {os.getpid()}")

    print("1. a single process dies mid-task")
    child = multiprocessing.Process(target=task, args=(3,))
    child.start()
    child.join()
    print(f"   {child.name} (pid {child.pid}) exit code {child.exitcode}; "
          f"the parent carries on")

    print("2. a pool worker dies while the pool has work")
    with concurrent.futures.ProcessPoolExecutor(max_workers=2) as pool:
        futures = {n: pool.submit(task, n) for n in range(1, 7)}
        for n, future in futures.items():
            try:
                print(f"   task {n}: result {future.result(timeout=10)}")
            except concurrent.futures.process.BrokenProcessPool:
                print(f"   task {n}: lost, the pool is broken")

    print("3. a multiprocessing.Pool worker dies")
    with multiprocessing.Pool(processes=2) as pool:
        before = worker_names()
        lost = pool.apply_async(task, (3,))
        try:
            lost.get(timeout=0.5)
        except multiprocessing.TimeoutError:
            print("   task 3: no result after 0.5 s (without a timeout, get() would wait forever)")
        print("   the pool itself still works:", pool.map(task, [1, 2]))
        print(f"   workers before: {before}; after: {worker_names()}")

    print("4. a thread crashes inside a child process")
    child = multiprocessing.Process(target=busy_main_thread_with_crashing_helper)
    child.start()
    child.join()
    print(f"   child exit code {child.exitcode} (-11 is SIGSEGV): one thread's crash took "
          f"the whole process down")
    print("parent: still here")
