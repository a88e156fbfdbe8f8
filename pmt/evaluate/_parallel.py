"""Run independent tasks locally (joblib) or on a Dask cluster (a ``dask.distributed`` client).

Tasks carry everything that makes them random (their seeds are derived from the caller's
``seed`` and the task number, never from the worker), so results are the same for any
``n_jobs`` and with or without a client, and they come back in task order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pmt.errors import DataError
from pmt.progress import Progress


def run_tasks(func: Callable, tasks: Sequence, n_jobs: int = 1, client=None,
              desc: str | None = None) -> list:
    """``[func(t) for t in tasks]``, possibly in parallel, in task order.

    Parameters
    ----------
    func : callable
        Must be picklable by cloudpickle (module-level functions, closures and lambdas are
        fine).
    n_jobs : int
        Local processes via joblib (loky backend); 1 runs in this process, -1 uses all
        cores.
    client : dask.distributed.Client, optional
        When given, tasks are submitted with ``client.map`` and collected with
        ``client.gather``; ``n_jobs`` is then ignored.
    desc : str, optional
        Show a progress bar with this label (on a terminal; see :mod:`pmt.progress`).
    """
    tasks = list(tasks)
    if client is not None:
        if not (hasattr(client, "map") and hasattr(client, "gather")):
            raise DataError(
                "`client` must be a dask.distributed.Client (with .map and .gather); "
                f"got {type(client).__name__}."
            )
        futures = client.map(func, tasks, pure=False)
        return list(client.gather(futures))
    if int(n_jobs) != n_jobs or n_jobs == 0:
        raise DataError(f"`n_jobs` must be a non-zero integer (-1 = all cores); got {n_jobs!r}.")
    with Progress(desc or "tasks", total=len(tasks)) as bar:
        if desc is None:
            bar.active = False
        if n_jobs == 1 or len(tasks) <= 1:
            results = []
            for t in tasks:
                results.append(func(t))
                bar.update()
            return results
        from joblib import Parallel, delayed

        results = []
        # results come back in task order as they finish
        for r in Parallel(n_jobs=int(n_jobs), return_as="generator")(delayed(func)(t) for t in tasks):
            results.append(r)
            bar.update()
        return results
