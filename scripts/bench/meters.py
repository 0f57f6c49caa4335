"""CPU seconds and resident memory of a process tree, read from the outside with psutil."""

from __future__ import annotations

import contextlib
import threading

import psutil


class TreeMeter:
    """CPU seconds and resident memory of a process and its children, read with psutil.

    CPU includes children that already exited and were waited for (``children_user``
    and ``children_system`` of the parent). RSS is summed over the live tree.
    """

    def __init__(self, pid: int, *, children: bool = True) -> None:
        self.root = psutil.Process(pid)
        # False for the benchmark's own process: its children are the measured servers.
        self.children = children

    def _tree(self) -> list[psutil.Process]:
        if not self.children:
            return [self.root]
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the tree."""
        total = 0.0
        for index, process in enumerate(self._tree()):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
                if index == 0 and self.children:
                    total += times.children_user + times.children_system
        return total

    def rss_bytes(self) -> int:
        """Resident memory of the live tree now."""
        total = 0
        for process in self._tree():
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


class PeakRss:
    """Samples a tree's RSS every ``interval`` seconds in a thread; keeps the peak."""

    def __init__(self, meter: TreeMeter, interval: float = 0.05) -> None:
        self.meter = meter
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.meter.rss_bytes())
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.meter.rss_bytes())
