"""Chromium processes a benchmark can find again: launched through Playwright, then
lowered in CPU priority or confined to a core as a whole (the browser, its zygotes,
renderers and utility processes), so that pages standing in for other people's devices
can run on this machine without starving the servers and the page being measured."""

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# cgroup v1's cpuset hierarchy (root, or CAP_SYS_ADMIN, to make a group in it).
CPUSET = Path("/sys/fs/cgroup/cpuset")


def _children(pid: int) -> list[int]:
    """Every child of `pid`, started by any of its threads (chromium forks from several)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue
    return found


def descendants(pid: int) -> set[int]:
    tree, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in tree:
                tree.add(child)
                todo.append(child)
    return tree


def launch(playwright, executable: str, args: list[str]):
    """A chromium browser and the pid of its browser process (the root of its tree)."""
    before = descendants(os.getpid())
    browser = playwright.chromium.launch(executable_path=executable, args=args)
    new = descendants(os.getpid()) - before
    roots = [pid for pid in new if _parent(pid) not in new]
    return browser, min(roots)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def renice(root: int, niceness: int) -> int:
    """Set the niceness of `root` and every process under it (new renderers fork from
    its zygotes, which then pass it on); how many processes it reached."""
    reached = 0
    for pid in {root} | descendants(root):
        try:
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
            reached += 1
        except (ProcessLookupError, PermissionError):
            continue
    return reached


def _cpus(listed: str) -> list[int]:
    """A cpuset list ("0-3,6") as CPU numbers."""
    cpus: list[int] = []
    for part in filter(None, listed.strip().split(",")):
        low, _, high = part.partition("-")
        cpus.extend(range(int(low), int(high or low) + 1))
    return cpus


def _own_cpuset() -> Path:
    """The cpuset group this process runs in (a container's, or the root)."""
    return CPUSET / Path(f"/proc/{os.getpid()}/cpuset").read_text().strip().lstrip("/")


@contextmanager
def confined(root: int, niceness: int, *, cpuset: bool = True) -> Iterator[dict]:
    """`root`'s whole tree on the last CPU of this process's cpuset: what other people's
    devices would be to the servers, the publisher and the page measured, which keep
    every other CPU to themselves. A cpuset group of its own (cgroup v1), so renderers
    forked later stay in it; moved back to this process's group and removed at the end.
    Their priority stays as it was: at nice 19 on that CPU they starved whenever other
    processes ran there (other sessions' tests, here), and their pages stopped answering
    the bench at all. Without the group (not asked for, not root, no cgroup v1 cpuset, a
    single CPU) the tree goes to `niceness` on every CPU instead, and the answer says
    why."""
    group = parent = None
    reason = ""
    try:
        if not cpuset:
            raise OSError("not asked for")
        parent = _own_cpuset()
        cpus = _cpus((parent / "cpuset.effective_cpus").read_text())
        if len(cpus) < 2:
            raise OSError(f"one CPU only ({cpus})")
        group = parent / f"bazaar-bench-{os.getpid()}-{root}"
        group.mkdir()
        (group / "cpuset.cpus").write_text(str(cpus[-1]))
        (group / "cpuset.mems").write_text((parent / "cpuset.mems").read_text())
    except OSError as error:
        reason = f"no cpuset of their own ({error}): nice {niceness} instead"
        if group is not None and group.exists():
            group.rmdir()
        group = None
    moved = 0
    for pid in ({root} | descendants(root)) if group else set():
        try:
            (group / "cgroup.procs").write_text(str(pid))
            moved += 1
        except OSError:
            continue  # gone meanwhile
    confinement = {
        "cpus": (group / "cpuset.cpus").read_text().strip() if group else None,
        "processes_confined": moved,
        "processes_reniced": 0 if group else renice(root, niceness),
        "fallback": reason or None,
    }
    try:
        yield confinement
    finally:
        if group is not None:
            _release(group, parent)


def _release(group: Path, parent: Path) -> None:
    """Every process of `group` back in `parent`, then the group removed: a process that
    forks or exits meanwhile can keep it busy for a moment, so a few tries."""
    for _ in range(50):
        for pid in (group / "cgroup.procs").read_text().split():
            try:
                (parent / "cgroup.procs").write_text(pid)
            except OSError:
                continue  # exited meanwhile
        try:
            group.rmdir()
            return
        except OSError:
            time.sleep(0.1)
    group.rmdir()
