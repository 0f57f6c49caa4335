"""CPU seconds and resident memory of a process tree, read from the outside with psutil."""

from __future__ import annotations

import contextlib
import threading
import time

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

    def tree(self) -> list[psutil.Process]:
        """The root and (unless ``children`` is False) its live descendants now.

        Finding descendants walks every process of the machine (a few milliseconds),
        so a frequent sampler keeps the list a while (:class:`PeakRss`)."""
        if not self.children:
            return [self.root]
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the tree."""
        total = 0.0
        for index, process in enumerate(self.tree()):
            with contextlib.suppress(psutil.Error):
                times = process.cpu_times()
                total += times.user + times.system
                if index == 0 and self.children:
                    total += times.children_user + times.children_system
        return total

    def rss_bytes(self, tree: list[psutil.Process] | None = None) -> int:
        """Resident memory of the live tree now (of ``tree``, when given, as found before)."""
        total = 0
        for process in self.tree() if tree is None else tree:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


class PeakRss:
    """Samples a tree's RSS every ``interval`` seconds in a thread; keeps the peak.

    The sampler shares the load generator's process (and its GIL), so it looks for new
    processes in the tree only every ``refresh`` seconds: walking the machine's
    processes every 50 ms would hold up the client's event loop for milliseconds at a
    time, on relay runs only, and show up as relay latency.
    """

    def __init__(self, meter: TreeMeter, interval: float = 0.05, refresh: float = 1.0) -> None:
        self.meter = meter
        self.interval = interval
        self.refresh = refresh
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        tree, found = self.meter.tree(), time.monotonic()
        while True:
            if time.monotonic() - found >= self.refresh:
                tree, found = self.meter.tree(), time.monotonic()
            self.peak = max(self.peak, self.meter.rss_bytes(tree))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.meter.rss_bytes())
