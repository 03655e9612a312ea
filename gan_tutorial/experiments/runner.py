"""The one runner of every league: a ledger of finished runs, a pool for the rest, results as they land.

A league is a list of runs (a method, a data set, a seed). :class:`Ledger` keeps the finished
ones in ``out/runs.jsonl`` (one JSON record per line, the latest record of a run wins) with each
run's samples in ``out/runs/`` (git-ignored; a fresh clone unpacks them from the committed
``samples.npz``), so a league that is stopped resumes where it was. :func:`execute` runs the
remaining calls one after another, or in ``jobs`` processes of one thread each, and hands each
result to ``finish`` as soon as it lands, so tables can be rewritten after every run.
:func:`write_settings` writes the settings record and the command beside the results.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import torch


class Ledger:
    """The finished runs of a league folder: ``done[key]`` is a run's record, its samples in ``runs/``.

    ``key(record)`` names a run (e.g. ``"ns/ring8/0"``), ``file(record)`` is its samples' path (None:
    records only, e.g. tuning runs) and
    ``keep(record)`` says whether a record was made under the setting asked for now (records of
    another setting stay in the file but are not reused).
    """

    def __init__(self, out: str | Path, key: Callable[[dict], str], file: Callable[[dict], Path] | None,
                 keep: Callable[[dict], bool] = lambda r: True, fresh: bool = False, name: str = "runs.jsonl"):
        self.out, self.key, self.file = Path(out), key, file
        self.path = self.out / name
        (self.out / "runs").mkdir(parents=True, exist_ok=True)
        if fresh and self.path.exists():
            self.path.unlink()
        self.done: dict[str, dict] = {}
        if not self.path.exists():
            return
        packed = np.load(self.out / "samples.npz") if (self.out / "samples.npz").exists() else {}
        for line in self.path.read_text().splitlines():
            record = json.loads(line)
            path = file(record) if file is not None else None
            if path is not None and not path.exists() and key(record) in packed:  # a fresh clone: runs/ is
                np.save(path, packed[key(record)])                                 # not committed
            if keep(record) and (path is None or path.exists()):
                self.done[key(record)] = record

    def add(self, record: dict, samples: np.ndarray | None = None) -> None:
        """Keep a finished run: its samples on disk first, then its record (so a record always has samples)."""
        if self.file is not None:
            np.save(self.file(record), samples)
        with open(self.path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        self.done[self.key(record)] = record

    def records(self, keep: Callable[[dict], bool] = lambda r: True) -> list[dict]:
        return [r for r in self.done.values() if keep(r)]


def execute(calls: Iterable[tuple[Callable, tuple, dict]], finish: Callable, jobs: int = 1) -> None:
    """Run each ``fn(*args, **kwargs)`` of ``calls`` and pass its result to ``finish`` as it lands.

    With ``jobs > 1`` the calls run in forked processes of one thread each (two CPU-bound runs
    then fill two cores); ``finish`` always runs in this process. Results arrive in the order
    they finish.
    """
    calls = list(calls)
    if jobs > 1 and len(calls) > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            futures = [pool.submit(fn, *args, **kwargs) for fn, args, kwargs in calls]
            for fut in as_completed(futures):
                finish(fut.result())
    else:
        for fn, args, kwargs in calls:
            finish(fn(*args, **kwargs))


def write_settings(out: str | Path, settings: dict, command: str) -> None:
    """``out/settings.json``: what the league's runs were trained with, and the command that re-creates it."""
    Path(out, "settings.json").write_text(json.dumps({"command": command, "settings": settings}, indent=1,
                                                     sort_keys=True, default=str) + "\n")
