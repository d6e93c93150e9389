"""Memory figures of a process from ``/proc/<pid>/status`` (Linux), in MB.

``VmHWM`` is a process's own peak resident size. ``resource.getrusage(...).ru_maxrss`` is not: it keeps
the parent's size from before an ``exec``, so a probe started by a large process would report that.
"""

from __future__ import annotations


def status_mb(field: str, pid: int | str = "self") -> float:
    """``field`` (``VmRSS``, ``VmHWM``, ...) of process ``pid`` (this one by default)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(f"{field} is not in /proc/{pid}/status")
