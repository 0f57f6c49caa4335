"""CPU seconds and resident memory of process trees, read from the outside with psutil,
and the readings of every process sharing the machine over one run (:class:`Window`)."""

from __future__ import annotations

import contextlib
import threading
import time

import psutil

from scripts.bench.stats import Readings, process_usage


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


def machine_busy_s() -> float:
    """CPU seconds the machine's cores spent busy so far (neither idle nor waiting on I/O)."""
    times = psutil.cpu_times()
    return float(sum(times)) - times.idle - getattr(times, "iowait", 0.0)


class Meters:
    """The process trees that share the machine while a target runs (None: not there)."""

    def __init__(
        self,
        relay: TreeMeter | None,
        upstream: TreeMeter,
        database: TreeMeter | None,
        client: TreeMeter,
    ) -> None:
        self.relay, self.upstream, self.database, self.client = relay, upstream, database, client

    def cpu(self) -> list[float | None]:
        """CPU seconds so far of the relay, upstream, database and client (None: not run),
        and last, of the whole machine (every core, busy time only)."""
        return [
            *(
                meter.cpu_s() if meter else None
                for meter in (self.relay, self.upstream, self.database, self.client)
            ),
            machine_busy_s(),
        ]


class Window:
    """A ``with`` block over one run: every process's CPU, and the relay's peak RSS."""

    def __init__(self, meters: Meters) -> None:
        self.meters = meters
        self.rss = PeakRss(meters.relay) if meters.relay else None
        self.before: list[float | None] = []
        self.after: list[float | None] = []

    def __enter__(self) -> Window:
        self.before = self.meters.cpu()
        if self.rss:
            self.rss.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.rss:
            self.rss.__exit__()
        self.after = self.meters.cpu()

    def readings(self, wall_s: float) -> Readings:
        """What each process used over the block, as shares of ``wall_s`` too; "other" is
        the machine's busy time that none of them used (other processes, the kernel)."""
        spent = [
            None if before is None or after is None else after - before
            for before, after in zip(self.before, self.after, strict=True)
        ]
        *trees, machine = spent
        used = [None if cpu is None else process_usage(cpu, wall_s) for cpu in trees]
        relay = used[0]
        if relay is not None and self.rss is not None:
            relay = process_usage(relay.cpu_s, wall_s, self.rss.peak)
        other = max((machine or 0.0) - sum(cpu for cpu in trees if cpu is not None), 0.0)
        return Readings(relay, used[1], used[2], used[3], process_usage(other, wall_s))
