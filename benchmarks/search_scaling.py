"""Wall time of one search serially, in 2 local processes or threads, and on Dask.

Usage::

    PYTHONPATH=. python benchmarks/search_scaling.py [PATH_TO_PIMA_CSV] [--repeats 3]
    PYTHONPATH=. python benchmarks/search_scaling.py --synthetic 5000
    PYTHONPATH=. python benchmarks/search_scaling.py PIMA_CSV --space regularization

Without a path the data is scikit-learn's breast cancer set; ``--synthetic N``
generates N rows with ``make_classification`` (20 features), to see how the
speed-up grows once training dominates a fit. ``--space regularization`` keeps
the network fixed and tunes only learning rate, dropout, L2, clipnorm and batch
size. ``--modes`` picks modes; ``--save JSON`` keeps every run's figures.

The search: ``make_pipeline(FunctionTransformer(_record_pid), StandardScaler(),
OptimizedMLPClassifier(...))`` (early stopping, at most 60 epochs),
``classifier_space()``, ``n_iter=16``, ``cv=4``, ``n_points=2``,
``random_state=0``: ``BayesSearchCV``, or skoptnn's ``ResumableBayesSearchCV``
(no checkpoint) in the modes that say "skoptnn search". The first step passes
the data through and notes which process runs it, so each run reports how many
worker processes did the work. The modes:

* ``serial``: ``n_jobs=1`` in this process;
* ``local x2``: ``n_jobs=2``, joblib's default process backend (loky); each
  worker gives TensorFlow its share of the cores (``OMP_NUM_THREADS``);
* ``threads x2``: ``n_jobs=2`` under joblib's threading backend;
* ``local x2, TF default threads``: ``local x2`` with ``SKOPTNN_NUM_THREADS=0``,
  so each worker's TensorFlow sizes its pools to the whole machine;
* ``dask x2``: ``joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 2
  single-threaded worker processes on 127.0.0.1, Dask's defaults;
* ``local x2, skoptnn search`` and ``dask x2, skoptnn search``: the same with
  ``ResumableBayesSearchCV``, like with like;
* ``dask x2, skoptnn search, default malloc``: workers started without Dask's
  ``MALLOC_TRIM_THRESHOLD_=65536``; ``..., tuned workers``: that, and the
  workers' statistical profiler off (``docs/scaling.md`` says why).

Each mode runs in a fresh Python process, in which the workers start and are
warmed by a 2-candidate search (``cv=2``) before the clock starts; the timed
span is ``search.fit`` only. In every mode the searching process runs with one
BLAS thread (scikit-optimize's Gaussian process is thousands of tiny BLAS calls,
which multi-threaded OpenBLAS beside TensorFlow's pools slows down). Runs are
interleaved across modes; the report gives medians over ``--repeats``.

Measured per run: scikit-optimize's ``ask`` and ``tell`` (the Gaussian process),
the refit, the summed CV fit time, the CPU time of the searching process's
other threads (with a ``LocalCluster``, its scheduler, nannies and client run
there), and on Dask the tasks that were not fits (the acquisition searches that
joblib's Dask backend ships, since it ignores ``n_jobs=1``).

The N-worker model: a search's wall time is its serial work (ask and tell,
refit, other bookkeeping, from the serial run) plus, for each round of
``n_points`` candidates, the time its ``n_points x cv`` fits take on N workers
(each candidate's fold time as measured in that mode, longest first to the least
loaded worker). It is printed beside each 2-worker measurement, with its
prediction for 8 workers (what the model leaves out, scheduling and transfers,
taken to cost per round what it cost on 2).

The ``breakdown`` step refits the serial search's candidates, one fresh
process, on one CV training split: the first fit of each architecture in a
process compiles its training graph, the second only trains. From those it
bounds what ``n_jobs=2`` can gain when every candidate's folds are spread over
both workers (each worker compiles the candidate, each trains half its folds)::

    bound = 2 * (compile + cv * train) / (2 * compile + cv * train)

summed over candidates, and Amdahl's law with the serial run's own serial work::

    bound = (C + F + S + G) / (C + F / 2 + S / 2 + G)

``F``: the CV trainings; ``C``: one compile per candidate; ``S``: CV scoring;
``G``: the serial work.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

MODES = {
    "serial": {"n_jobs": 1, "env": {}},
    "local x2": {"n_jobs": 2, "env": {}},
    "threads x2": {"n_jobs": 2, "env": {}, "threads": True},
    "local x2, TF default threads": {"n_jobs": 2, "env": {"SKOPTNN_NUM_THREADS": "0"}},
    "dask x2": {"n_jobs": 2, "env": {}, "dask": True},
    # skoptnn's ResumableBayesSearchCV (no checkpoint), locally and on Dask: like with like.
    "local x2, skoptnn search": {"n_jobs": 2, "env": {}, "search": "skoptnn"},
    "dask x2, skoptnn search": {"n_jobs": 2, "env": {}, "dask": True, "search": "skoptnn"},
    # The same with the workers' glibc left at its default trimming (see docs/scaling.md).
    "dask x2, skoptnn search, default malloc": {
        "n_jobs": 2, "env": {}, "dask": True, "search": "skoptnn", "default_malloc": True},
    # ... and without the workers' statistical profiler (the dashboard's Profile page).
    "dask x2, skoptnn search, tuned workers": {
        "n_jobs": 2, "env": {}, "dask": True, "search": "skoptnn", "default_malloc": True,
        "no_profiler": True},
}
N_ITER, CV, N_POINTS, EPOCHS = 16, 4, 2, 60


def _warm_worker() -> int:
    import skoptnn.engine.runtime as k  # TensorFlow's import is the slow part of a start

    return k.tf.config.threading.get_intra_op_parallelism_threads()


# --space regularization: a fixed network (2 x 64 ReLU, Adam), tuning only what
# skoptnn's compiled graph reads from variables, so each process compiles once.
REGULARIZATION = ["learning_rate", "dropout", "l2", "clipnorm", "batch_size"]


_PIDS_ENV = "SEARCH_SCALING_PIDS"


def _record_pid(X):
    """Pass-through first pipeline step: note which process fits or scores."""
    path = os.environ.get(_PIDS_ENV)
    if path:
        with open(path, "a") as f:
            f.write(f"{os.getpid()}\n")
    return X


def make_search(n_jobs: int, space: str = "full", search: str = "plain",
                n_iter: int = N_ITER, cv: int = CV):
    """``BayesSearchCV`` (``search="plain"``) or skoptnn's ``ResumableBayesSearchCV``."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler
    from skopt import BayesSearchCV

    from skoptnn import OptimizedMLPClassifier, classifier_space
    from skoptnn.search import ResumableBayesSearchCV

    pipe = make_pipeline(
        FunctionTransformer(_record_pid),
        StandardScaler(),
        OptimizedMLPClassifier(epochs=EPOCHS, early_stopping=True, random_state=0),
    )
    include = REGULARIZATION if space == "regularization" else None
    search_class = ResumableBayesSearchCV if search == "skoptnn" else BayesSearchCV
    return search_class(
        pipe, classifier_space(prefix="optimizedmlpclassifier__", include=include),
        n_iter=n_iter, cv=cv, n_points=N_POINTS, n_jobs=n_jobs, random_state=0,
    )


def load(data: str | None) -> tuple[np.ndarray, np.ndarray]:
    if data and data.startswith("synthetic:"):
        from sklearn.datasets import make_classification

        return make_classification(n_samples=int(data.split(":")[1]), n_features=20,
                                   n_informative=10, random_state=0)
    sys.path.insert(0, str(Path(__file__).parent))
    from _common import load_data

    X, y, _ = load_data(data)
    return X, y


def run_breakdown(data: str | None, candidates: list[dict], space: str) -> dict:
    """First (compiling) and second fit of each candidate, in this fresh process."""
    from sklearn.base import clone
    from sklearn.model_selection import StratifiedKFold

    X, y = load(data)
    train, _ = next(StratifiedKFold(CV).split(X, y))
    base = make_search(1, space).estimator
    warnings.filterwarnings("ignore")
    first, second = [], []
    for params in candidates:
        times = []
        for _ in range(2):
            est = clone(base).set_params(**params)
            start = time.perf_counter()
            est.fit(X[train], y[train])
            times.append(time.perf_counter() - start)
        first.append(times[0])
        second.append(times[1])
    return {"first": first, "second": second}


def _process_cpu() -> tuple[float, float]:
    """CPU seconds of this whole process, and of the calling (main) thread."""
    import psutil

    times = psutil.Process().cpu_times()
    return times.user + times.system, time.thread_time()


HELPER_CPU: dict = {}


def _timed_fit(search, X, y, backend=None) -> float:
    """Seconds of ``search.fit`` under ``backend``, with one BLAS thread (see above)."""
    from threadpoolctl import threadpool_limits

    with backend or contextlib.nullcontext(), threadpool_limits(1, user_api="blas"):
        (process, main), start = _process_cpu(), time.perf_counter()
        search.fit(X, y)
        seconds = time.perf_counter() - start
        # The other threads: with a LocalCluster its scheduler, nannies and client (and
        # TensorFlow's threads in the refit); with loky its queue threads; with threads,
        # the fits themselves.
        process_after, main_after = _process_cpu()
        HELPER_CPU["seconds"] = (process_after - process) - (main_after - main)
        return seconds


@contextlib.contextmanager
def _timed_optimizer(log: dict):
    """Add the seconds scikit-optimize spends in ``Optimizer.ask``/``tell`` to ``log``."""
    from skopt import Optimizer

    originals = {name: getattr(Optimizer, name) for name in ("ask", "tell")}

    def timed(name):
        def method(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return originals[name](self, *args, **kwargs)
            finally:
                log[name] = log.get(name, 0.0) + time.perf_counter() - start
        return method

    for name in originals:
        setattr(Optimizer, name, timed(name))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(Optimizer, name, original)


def _search_in_mode(search, X, y, spec: dict, result: dict, warm, reset) -> float:
    """Start the mode's workers and warm them with a 2-candidate search (untimed), then
    time ``search.fit`` on them."""
    from joblib import Parallel, delayed, parallel_backend

    if spec.get("dask"):
        import dask
        from dask.distributed import Client, LocalCluster, get_task_stream

        # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536 unless told otherwise.
        config = {}
        if spec.get("default_malloc"):
            config["distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"] = None
        if spec.get("no_profiler"):
            config["distributed.worker.profile.enabled"] = False
        with dask.config.set(config), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                             host="127.0.0.1", dashboard_address=None) as cluster, \
                Client(cluster) as client:
            result["worker_threads"] = sorted(client.run(_warm_worker).values())
            _timed_fit(warm, X, y, parallel_backend("dask"))
            reset()
            with get_task_stream(client) as tasks:
                seconds = _timed_fit(search, X, y, parallel_backend("dask"))
            # Tasks that were not fits: scikit-optimize's own, shipped by joblib's backend.
            result["other_dask_tasks"] = sum(
                "_fit_and_score" not in str(t["key"]) for t in tasks.data)
            return seconds
    if spec.get("threads"):
        # One process: its threads share each architecture's compiled loop.
        result["worker_threads"] = [_warm_worker()]
        backend = parallel_backend("threading", n_jobs=spec["n_jobs"])
        _timed_fit(warm, X, y, parallel_backend("threading", n_jobs=spec["n_jobs"]))
        reset()
        return _timed_fit(search, X, y, backend)
    start = time.perf_counter()
    _timed_fit(warm, X, y)  # starts loky's workers, which later searches reuse
    if spec["n_jobs"] > 1:
        result["worker_start_seconds"] = time.perf_counter() - start
    result["worker_threads"] = Parallel(n_jobs=spec["n_jobs"])(
        delayed(_warm_worker)() for _ in range(spec["n_jobs"]))
    reset()
    return _timed_fit(search, X, y)


def run_one(mode: str, data_path: str | None, space: str) -> dict:
    """Time one search in this process (called in a fresh subprocess)."""
    X, y = load(data_path)
    spec = MODES[mode]
    kind = spec.get("search", "plain")
    search = make_search(spec["n_jobs"], space, kind)
    warm = make_search(spec["n_jobs"], space, kind, n_iter=2, cv=2)
    warnings.filterwarnings("ignore")  # skopt's "point already evaluated" and the like
    result = {"mode": mode}
    optimizer_log: dict = {}
    # Set before any worker starts, so that every worker inherits it.
    pids = Path(tempfile.mkdtemp()) / "pids"
    os.environ[_PIDS_ENV] = str(pids)
    with _timed_optimizer(optimizer_log):
        def reset():  # forget the warm-up search
            optimizer_log.clear()
            pids.write_text("")

        result["seconds"] = _search_in_mode(search, X, y, spec, result, warm, reset)
    # Processes other than this one that fitted or scored: 2 for two workers,
    # more if a worker was restarted (joblib's loky does, on memory growth).
    result["worker_processes"] = len(set(pids.read_text().split()) - {str(os.getpid())})
    result["ask_tell_seconds"] = sum(optimizer_log.values())
    result["refit_seconds"] = float(search.refit_time_)
    result["score_seconds"] = float(np.sum(search.cv_results_["mean_score_time"]) * CV)
    # Training time summed over every CV fit, wherever it ran: parallel modes
    # that add up to more than serial repeat work (each process compiles the
    # architectures it meets).
    result["fit_seconds"] = float(np.sum(search.cv_results_["mean_fit_time"]) * CV)
    result["helper_cpu_seconds"] = HELPER_CPU["seconds"]
    # For the N-worker model: each candidate's fold time (fit + score, where it ran) and
    # how the candidates were asked for, in rounds.
    cv = search.cv_results_
    result["candidate_seconds"] = [float(f + s) for f, s in
                                   zip(cv["mean_fit_time"], cv["mean_score_time"], strict=True)]
    first = [1] if spec.get("search") == "skoptnn" else []  # defaults first: a round of 1
    n_left = len(result["candidate_seconds"]) - len(first)
    result["rounds"] = first + [min(N_POINTS, n_left - i) for i in range(0, n_left, N_POINTS)]
    result["best_score"] = float(search.best_score_)
    result["n_candidates"] = len(search.cv_results_["params"])
    result["params"] = [
        {k: v.item() if isinstance(v, np.generic) else v for k, v in p.items()}
        for p in search.cv_results_["params"]
    ]
    return result


def spawn(mode: str, data_path: str | None, space: str, stdin: str | None = None) -> dict:
    env = {**os.environ, **MODES.get(mode, {"env": {}})["env"]}
    cmd = [sys.executable, __file__, "--run", mode, "--space", space]
    if data_path and data_path.startswith("synthetic:"):
        cmd += ["--synthetic", data_path.split(":")[1]]
    elif data_path:
        cmd.append(data_path)
    out = subprocess.run(cmd, env=env, input=stdin, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"mode {mode!r} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", nargs="?", help="Pima CSV (default: breast cancer)")
    parser.add_argument("--synthetic", type=int, metavar="ROWS",
                        help="generated data with ROWS rows instead of a CSV")
    parser.add_argument("--space", choices=["full", "regularization"], default="full",
                        help="full: classifier_space(); regularization: a fixed network, "
                             "tuning " + ", ".join(REGULARIZATION))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    parser.add_argument("--save", metavar="JSON", help="write every run's figures to JSON")
    parser.add_argument("--run", help=argparse.SUPPRESS)  # internal: one timed run
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error("--repeats must be >= 1")
    if args.synthetic is not None and args.csv:
        parser.error("give a CSV or --synthetic ROWS, not both")
    if args.synthetic is not None and args.synthetic < 10:
        parser.error("--synthetic needs at least 10 rows")
    if args.csv and not Path(args.csv).is_file():
        parser.error(f"no such file: {args.csv}")
    data = f"synthetic:{args.synthetic}" if args.synthetic is not None else args.csv
    if args.run == "breakdown":
        print(json.dumps(run_breakdown(data, json.loads(sys.stdin.read()), args.space)))
        return
    if args.run:
        print(json.dumps(run_one(args.run, data, args.space)))
        return

    import sklearn
    import tensorflow as tf

    print(f"search_scaling: BayesSearchCV n_iter={N_ITER}, cv={CV}, n_points={N_POINTS}, "
          f"space={args.space}, data={data or 'breast cancer'}, repeats={args.repeats}")
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"TensorFlow {tf.__version__}, scikit-learn {sklearn.__version__}")
    results: dict[str, list[dict]] = {}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every mode
        for mode in args.modes:
            r = spawn(mode, data, args.space)
            results.setdefault(mode, []).append(r)
            print(f"  {mode:<30} {r['seconds']:7.1f} s  best CV {r['best_score']:.3f}  "
                  f"TF threads per worker {r['worker_threads']}  "
                  f"worker processes that ran fits {r['worker_processes']}", flush=True)

    median = {m: statistics.median(r["seconds"] for r in rs) for m, rs in results.items()}
    base = median.get("serial")
    def med(mode: str, key: str) -> float:
        return statistics.median(r[key] for r in results[mode])

    print("\n| mode | median wall time (s) | speed-up vs serial | CV fit time, summed (s) "
          "| ask + tell (s) | refit (s) | worker processes, most in a run |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for mode, seconds in median.items():
        ratio = f"{base / seconds:.2f}x" if base else "-"
        workers = max(r["worker_processes"] for r in results[mode])
        print(f"| {mode} | {seconds:.1f} | {ratio} | {med(mode, 'fit_seconds'):.1f} "
              f"| {med(mode, 'ask_tell_seconds'):.1f} | {med(mode, 'refit_seconds'):.2f} "
              f"| {workers} |")
    starts = [r["worker_start_seconds"] for rs in results.values() for r in rs
              if "worker_start_seconds" in r]
    if starts:
        print(f"\nloky worker start-up and warm-up search (not in the times above): "
              f"{statistics.median(starts):.1f} s median")
    if base and "local x2" in median:
        speedup = base / median["local x2"]
        print(f"target n_jobs=2 >= 1.6x serial: {speedup:.2f}x "
              f"{'MET' if speedup >= 1.6 else 'NOT MET'}")
    for dask_mode, local_mode in (("dask x2", "local x2"),
                                  ("dask x2, skoptnn search", "local x2, skoptnn search"),
                                  ("dask x2, skoptnn search, default malloc",
                                   "local x2, skoptnn search"),
                                  ("dask x2, skoptnn search, tuned workers",
                                   "local x2, skoptnn search")):
        if dask_mode in median and local_mode in median:
            ratio = median[dask_mode] / median[local_mode]
            each = ", ".join(f"{a['seconds'] / b['seconds']:.2f}"
                             for a, b in zip(results[dask_mode], results[local_mode],
                                             strict=True))
            best = {m: statistics.median(r["best_score"] for r in results[m])
                    for m in (dask_mode, local_mode)}
            print(f"{dask_mode} / {local_mode}: {ratio:.2f}x (per repeat {each}); best CV "
                  f"{best[dask_mode]:.3f} vs {best[local_mode]:.3f}; target <= 1.2x: "
                  f"{'MET' if ratio <= 1.2 else 'NOT MET'}")
    others = {m: max(r.get("other_dask_tasks", 0) for r in rs) for m, rs in results.items()
              if MODES[m].get("dask")}
    if others:
        print("Dask tasks that were not fits (scikit-optimize's acquisition searches), "
              "most in a run: " + ", ".join(f"{m} {n}" for m, n in others.items()))
    if args.save:
        Path(args.save).write_text(json.dumps(results))
    model(results)
    if "serial" in results:
        breakdown(data, results["serial"][0], args.space)


def makespan(seconds: list[float], workers: int) -> float:
    """Wall time of independent tasks on ``workers`` (longest first, to the least loaded)."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        loads[loads.index(min(loads))] += s
    return max(loads)


def predicted(run: dict, rest: float, workers: int) -> float:
    """The model: the searching process's own work, then each round's fits on ``workers``."""
    fits, i = 0.0, 0
    for size in run["rounds"]:
        fits += makespan([t for t in run["candidate_seconds"][i:i + size] for _ in range(CV)],
                         workers)
        i += size
    return run["ask_tell_seconds"] + run["refit_seconds"] + rest + fits


def model(results: dict[str, list[dict]]) -> None:
    """Predict each 2-worker mode from its parts, and the same search on 8 workers."""
    if "serial" not in results:
        return
    serial = results["serial"][0]
    # Serial work that is neither ask/tell, refit, a fit nor a score: cloning, bookkeeping.
    rest = max(0.0, serial["seconds"] - serial["fit_seconds"] - serial["score_seconds"]
               - serial["ask_tell_seconds"] - serial["refit_seconds"])
    print(f"\nN-worker model (docs/scaling.md): wall = ask + tell + refit + "
          f"{rest:.1f} s other serial work + the rounds' fits spread over the workers "
          "(each candidate's fold time as measured in that mode, longest first)")
    print("| mode | measured (s) | model, 2 workers (s) | model, 8 workers (s) "
          "| searching process, other threads: CPU (s) |")
    print("|---|---:|---:|---:|---:|")
    for mode, runs in results.items():
        if MODES[mode]["n_jobs"] < 2:
            continue
        # The median run (the lower one of an even number), so that the model's inputs
        # and the measurement come from one run.
        low = statistics.median_low(r["seconds"] for r in runs)
        run = next(r for r in runs if r["seconds"] == low)
        two, eight = predicted(run, rest, 2), predicted(run, rest, 8)
        # What the model leaves out (scheduling, transfers) is taken to cost the same per
        # round on 8 workers as measured on 2.
        overhead = run["seconds"] - two
        print(f"| {mode} | {run['seconds']:.1f} | {two:.1f} | {eight + overhead:.1f} "
              f"| {run['helper_cpu_seconds']:.1f} |")


def breakdown(data: str | None, serial: dict, space: str) -> None:
    """Print how much of a fit is compiling, and what that allows n_jobs=2."""
    r = spawn("breakdown", data, space, stdin=json.dumps(serial["params"]))
    first, second = np.array(r["first"]), np.array(r["second"])
    compile_ = np.maximum(first - second, 0.0)
    bound = 2 * (compile_ + CV * second).sum() / (2 * compile_ + CV * second).sum()
    print(f"\nbreakdown over the serial search's {len(first)} candidates "
          f"(one CV training split, fresh process):")
    print(f"  first fit of an architecture (compile + train): median {np.median(first):.2f} s")
    print(f"  a later fit of it (train only):                 median {np.median(second):.2f} s")
    print(f"  compiling is {compile_.sum() / (compile_.sum() + CV * second.sum()):.0%} "
          f"of the serial fits' time (1 compile + {CV} trainings per candidate)")
    print(f"  model bound for n_jobs=2 with folds spread over both workers: {bound:.2f}x")

    # Amdahl, with the serial run's own serial work (see the module docstring).
    n = len(first)
    C, F = compile_.sum(), CV * second.sum()
    S = serial["score_seconds"]
    G = serial["seconds"] - serial["fit_seconds"] - S
    a, b = F + S + G, F / 2 + S / 2 + G
    print(f"\nthe search's serial work in the first serial run: {G:.1f} s of "
          f"{serial['seconds']:.1f} s (ask + tell {serial['ask_tell_seconds']:.1f} s, refit "
          f"{serial['refit_seconds']:.2f} s, the rest cloning and bookkeeping)")
    print(f"  bound for n_jobs=2, compiling as measured: {(C + a) / (C + b):.2f}x; "
          f"if compiling were free: {a / b:.2f}x")
    budget = (a - 1.6 * b) / (0.6 * n)
    if budget > 0:
        print(f"  1.6x needs a compile of at most {budget * 1000:.0f} ms per architecture "
              f"(measured: median {np.median(compile_) * 1000:.0f} ms)")
    else:
        print("  1.6x is out of reach even with free compiling")


if __name__ == "__main__":
    main()
