"""Functions travel to worker processes by name, not by value.

pickle records a module-level function as "module + qualified name";
the worker looks that name up in its own copy of the module. A lambda
or a nested function has no such importable name, so it cannot be sent.
"""

import multiprocessing
import pickle


def square(n):
    return n * n


def make_multiplier(k):
    def multiply(n):
        return n * k
    return multiply


if __name__ == "__main__":
    data = pickle.dumps(square)
    print(f"square pickles to {len(data)} bytes: {data!r}")
    print(f"  that is just its module and name: {square.__module__}.{square.__qualname__}")

    for label, func in [("lambda n: n * n", lambda n: n * n),
                        ("make_multiplier(3)", make_multiplier(3))]:
        try:
            pickle.dumps(func)
            print(f"{label}: pickled (unexpected)")
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            print(f"{label}: cannot be pickled ({type(err).__name__}), "
                  f"qualified name {func.__qualname__!r}")

    with multiprocessing.Pool(processes=2) as pool:
        print("pool.map(square, ...):", pool.map(square, [1, 2, 3]))
        try:
            pool.map(lambda n: n * n, [1, 2, 3])
        except Exception as err:
            print(f"pool.map(lambda ...): {type(err).__name__}")
