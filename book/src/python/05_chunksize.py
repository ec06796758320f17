"""How Pool.map hands out work: in chunks, sized by a simple formula."""

import multiprocessing


def default_chunksize(n_items, n_workers):
    # The rule CPython's Pool.map uses when you pass no chunksize:
    # aim for about four chunks per worker, rounding up.
    chunksize, extra = divmod(n_items, n_workers * 4)
    if extra:
        chunksize += 1
    return chunksize


def square_and_name(x):
    return x * x, multiprocessing.current_process().name


if __name__ == "__main__":
    print("items  workers  chunksize  chunks")
    for n_items, n_workers in [(9, 6), (12, 2), (100, 4), (10_000, 8)]:
        size = default_chunksize(n_items, n_workers)
        chunks = -(-n_items // size)  # ceiling division
        print(f"{n_items:>5}  {n_workers:>7}  {size:>9}  {chunks:>6}")

    items = list(range(1, 13))
    print(f"\nmapping over {len(items)} items with 2 workers "
          f"(chunksize {default_chunksize(len(items), 2)}):")
    with multiprocessing.Pool(processes=2) as pool:
        results = pool.map(square_and_name, items)
    print("results:", [square for square, _ in results])
    # Show which worker computed each run of neighbouring items.
    run = [items[0]]
    for i in range(1, len(items)):
        if results[i][1] == results[i - 1][1]:
            run.append(items[i])
        else:
            print(f"  items {run} -> {results[i - 1][1]}")
            run = [items[i]]
    print(f"  items {run} -> {results[-1][1]}")
