"""The pool example on a real distributed engine: Dask's scheduler and local worker processes.

Run it as `python3 12_cluster.py [--workers N] [--engine dask|ray]`. Everything listens on
127.0.0.1 only and the dashboard is off. `procbook demo cluster` runs this same file with
`--json --wait-signal`: one JSON object a line, and before each timed step it waits for
SIGUSR1, so that procbook can time its own Pool between Dask's steps (interleaved, never at
the same time).
"""

import argparse
import json
import os
import pickle
import platform
import signal
import statistics
import sys
import threading
import time

INSTALL = {
    "dask": 'python3 -m pip install "dask[distributed]"',
    "ray": "python3 -m pip install ray",
}


def square(n):
    return n * n


def ray_square(n):
    # Ray cannot tell afterwards which worker ran a task, so the task says so itself.
    return n * n, os.getpid()


class Say:
    """Prints each fact as a sentence, or as one JSON object a line for procbook."""

    def __init__(self, as_json, wait_signal):
        self.as_json = as_json
        self.wait_signal = wait_signal

    def __call__(self, event, text, **fields):
        if self.as_json:
            print(json.dumps({"event": event, **fields}), flush=True)
        elif text:
            print(text, flush=True)

    def turn(self):
        """With --wait-signal: let procbook take its turn, and wait until it has."""
        if self.wait_signal:
            self("wait", None)
            signal.sigwait({signal.SIGUSR1})


def watch_parent():
    """If procbook dies, this process is re-parented: stop the whole group, workers too.

    A second line of defence: procbook also asks the kernel to kill python3 when procbook dies
    (PR_SET_PDEATHSIG), and each Dask worker exits when the pipe from its parent closes.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os.killpg(0, signal.SIGKILL)

    if os.getpgid(0) == os.getpid():  # only when we lead our own process group
        threading.Thread(target=watch, daemon=True).start()


def timed(what):
    started = time.perf_counter()
    value = what()
    return value, time.perf_counter() - started


def run_dask(n_workers, rounds, say):
    try:
        import cloudpickle
        import dask
        from dask.distributed import Client, LocalCluster
    except ImportError:
        return missing("dask", say)
    numbers = list(range(1, 10))
    say(
        "versions",
        f"Python {platform.python_version()}, Dask {dask.__version__}",
        python=platform.python_version(),
        engine="dask",
        version=dask.__version__,
    )
    started = time.perf_counter()
    # ANCHOR: cluster
    with (
        LocalCluster(
            n_workers=n_workers,  # worker processes, each started by a "nanny"
            threads_per_worker=1,  # one task at a time per worker, as in a Pool
            processes=True,
            host="127.0.0.1",  # listen on loopback only
            dashboard_address=None,  # no web dashboard
        ) as cluster,
        Client(cluster) as client,  # this process: the scheduler and the client
    ):
        # ANCHOR_END: cluster
        start_s = time.perf_counter() - started
        say(
            "scheduler",
            f"scheduler {cluster.scheduler_address} in this process, pid {os.getpid()} "
            f"(cluster up in {start_s * 1000:.0f} ms)",
            address=cluster.scheduler_address,
            pid=os.getpid(),
            start_s=start_s,
        )
        # ANCHOR: workers
        pids = client.run(os.getpid)  # asks each worker: {address: pid}
        # ANCHOR_END: workers
        for address, pid in sorted(pids.items()):
            say("worker", f"worker {address} pid {pid}", address=address, pid=pid)
        by_name, by_value = len(pickle.dumps(square)), len(cloudpickle.dumps(square))
        say(
            "pickle",
            f"square pickled by name: {by_name} bytes; by value (cloudpickle, as Dask "
            f"sends a function from __main__): {by_value} bytes",
            by_name=by_name,
            by_value=by_value,
        )

        say.turn()

        # ANCHOR: map
        def one_map():
            futures = client.map(square, numbers, pure=False)  # one task per number
            return futures, client.gather(futures)  # results in input order

        (futures, results), first_s = timed(one_map)
        where = client.who_has(futures)  # {task key: addresses holding its result}
        # ANCHOR_END: map
        for n, result, future in zip(numbers, results, futures):
            address = where[future.key][0]
            say(
                "item",
                f"square({n}) = {result} on {address} (pid {pids[address]})",
                n=n,
                result=result,
                worker=address,
            )
        say("result", f"result {results}", results=results, first_s=first_s)
        times = []
        for i in range(rounds):
            say.turn()
            (_, again), seconds = timed(one_map)
            assert again == results
            times.append(seconds)
            say("round", None, i=i, seconds=seconds)
        if times:
            say(
                "times",
                f"first map {first_s * 1000:.1f} ms; then {rounds} more, "
                f"median {statistics.median(times) * 1000:.1f} ms",
            )
        say.turn()
        closing = time.perf_counter()
    say(
        "closed",
        f"cluster closed in {(time.perf_counter() - closing) * 1000:.0f} ms",
        close_s=time.perf_counter() - closing,
    )
    return 0


def run_ray(n_workers, rounds, say):
    try:
        import ray
    except ImportError:
        return missing("ray", say)
    numbers = list(range(1, 10))
    say(
        "versions",
        f"Python {platform.python_version()}, Ray {ray.__version__}",
        python=platform.python_version(),
        engine="ray",
        version=ray.__version__,
    )
    started = time.perf_counter()
    ray.init(
        num_cpus=n_workers,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
    try:
        start_s = time.perf_counter() - started
        address = ray.get_runtime_context().gcs_address
        say(
            "scheduler",
            f"Ray's control service (GCS) at {address}; driver pid {os.getpid()}",
            address=f"tcp://{address}",
            pid=os.getpid(),
            start_s=start_s,
        )
        remote = ray.remote(num_cpus=1)(ray_square)
        say.turn()

        def one_map():
            return ray.get([remote.remote(n) for n in numbers])

        pairs, first_s = timed(one_map)
        for pid in sorted({pid for _, pid in pairs}):
            say("worker", f"worker pid {pid}", address=f"pid {pid}", pid=pid)
        for n, (result, pid) in zip(numbers, pairs):
            say(
                "item",
                f"square({n}) = {result} on pid {pid}",
                n=n,
                result=result,
                worker=f"pid {pid}",
            )
        results = [r for r, _ in pairs]
        say("result", f"result {results}", results=results, first_s=first_s)
        for i in range(rounds):
            say.turn()
            _, seconds = timed(one_map)
            say("round", None, i=i, seconds=seconds)
        say.turn()
        closing = time.perf_counter()
    finally:
        ray.shutdown()
    say(
        "closed",
        f"Ray shut down in {(time.perf_counter() - closing) * 1000:.0f} ms",
        close_s=time.perf_counter() - closing,
    )
    return 0


def missing(engine, say):
    say(
        "missing",
        f"{engine} is not installed here, so this run shows no cluster; "
        f"to see one: {INSTALL[engine]}",
        engine=engine,
        install=INSTALL[engine],
    )
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engine", choices=["dask", "ray"], default="dask")
    parser.add_argument("--rounds", type=int, default=5, help="timed maps after the first")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--wait-signal", action="store_true", help="wait for SIGUSR1")
    args = parser.parse_args()
    if args.wait_signal:
        # Blocked before any thread starts, so every thread inherits the mask and the signal
        # waits (pending) for sigwait instead of killing the process.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
        watch_parent()
    say = Say(args.json, args.wait_signal)
    run = run_ray if args.engine == "ray" else run_dask
    return run(max(1, args.workers), max(0, args.rounds), say)


if __name__ == "__main__":
    sys.exit(main())
