"""`make run` installs only requirements.txt: every third-party module the market's own
code imports must come from a pin there or from a pin's own dependencies, not only
from requirements-dev.txt (which `make test` adds, so the suite alone would not see
the gap: `websockets`, imported by bazaar/wire.py, was missing from a fresh
`make run`)."""

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
# What the market does not run: the suite, the benches, the load harness, dev scripts
# (requirements-dev.txt), and what is not ours.
NOT_THE_MARKET = {"tests", "bench", "loadtest", "scripts", ".venv", "node_modules", "frontend"}
PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[([^\]]*)\])?==")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_by_requirements() -> set[str]:
    """The pins of requirements.txt and, recursively, what each needs (extras asked
    for included, environment markers evaluated here)."""
    wanted = []
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if match := PIN.match(line.strip()):
            extras = {e.strip() for e in (match[2] or "").split(",") if e.strip()}
            wanted.append((match[1], extras))
    seen: set[str] = set()
    while wanted:
        name, extras = wanted.pop()
        if canonical(name) in seen:
            continue
        seen.add(canonical(name))
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras or {""}):
                wanted.append((requirement.name, set(requirement.extras)))
    return seen


def market_imports() -> dict[str, str]:
    """Top-level modules imported by the market's code, each with one file naming it."""
    ours = {path.stem if path.suffix == ".py" else path.name for path in ROOT.iterdir()}
    found: dict[str, str] = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if NOT_THE_MARKET & set(relative.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top not in ours:
                    found.setdefault(top, str(relative))
    return found


def test_every_module_the_market_imports_is_installed_by_make_run():
    distributions = metadata.packages_distributions()
    installed = installed_by_requirements()
    missing = {
        module: where
        for module, where in market_imports().items()
        if not {canonical(d) for d in distributions.get(module, [module])} & installed
    }
    assert missing == {}, f"imported by the market, not installed by requirements.txt: {missing}"
