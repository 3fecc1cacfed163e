"""Chromium processes a benchmark can find again: launched through Playwright, then
lowered in CPU priority as a whole (the browser, its zygotes, renderers and utility
processes), so that pages standing in for other people's devices can run on this
machine without starving the servers and the page being measured."""

import os
from pathlib import Path


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
