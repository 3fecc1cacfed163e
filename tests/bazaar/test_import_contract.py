"""The apps' layering (pyproject's [tool.importlinter], drawn in docs/architecture.md) is
kept, every app is in it, and nothing in the project's own code imports in a loop."""

import re
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from django.apps import apps
from importlinter.api import read_configuration

ROOT = Path(__file__).resolve().parents[2]
CONFIG = read_configuration(str(ROOT / "pyproject.toml"))
ROOT_PACKAGES = CONFIG["session_options"]["root_packages"]
# Besides the apps, the project's own code that runs: the tests and the benches.
OWN_CODE = [*ROOT_PACKAGES, "tests", "bench"]
LINT_IMPORTS = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    """import-linter over the contract in `cwd`'s pyproject.toml; its report on stdout."""
    return subprocess.run(
        [sys.executable, "-c", LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def import_loops(graph: grimp.ImportGraph) -> list[str]:
    """Each loop in the graph once, as `a -> b -> … -> a`."""
    loops = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                loops.setdefault(frozenset(back), " -> ".join((importer, *back)))
    return sorted(loops.values())


def test_the_apps_keep_their_layers():
    run = lint_imports(ROOT)
    if run.returncode != 0:
        pytest.fail(f"import-linter says:\n{run.stdout}{run.stderr}", pytrace=False)


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_packages = ["high", "low"]\n'
        "[[tool.importlinter.contracts]]\n"
        'name = "Layers"\ntype = "layers"\nlayers = ["high", "(optional)", "low"]\n'
    )
    for package, source in {"high": "", "low": "from high import thing\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(source)
    run = lint_imports(tmp_path)
    assert run.returncode == 1
    assert "low is not allowed to import high" in run.stdout
    assert "low -> high (l.1)" in run.stdout


def _is_ours(path: Path, name: str) -> bool:
    """An app of this repository, not one installed into a virtualenv inside it."""
    return path.is_relative_to(ROOT) and path.relative_to(ROOT).parts[0] == name.partition(".")[0]


def test_every_app_of_the_project_is_in_the_contract():
    project_apps = {
        config.name.partition(".")[0]
        for config in apps.get_app_configs()
        if _is_ours(Path(config.path).resolve(), config.name)
    }
    layered = {
        name.strip(" ()")
        for contract in CONFIG["contracts_options"]
        for layer in contract["layers"]
        for name in re.split(r"[|:]", layer)
    }
    assert sorted(project_apps - set(ROOT_PACKAGES)) == [], "add them to root_packages"
    assert sorted(project_apps - layered) == [], "give them a layer"


def test_nothing_imports_in_a_loop():
    graph = grimp.build_graph(*OWN_CODE, cache_dir=None)
    loops = import_loops(graph)
    assert loops == [], "import loops:\n" + "\n".join(loops)


def test_a_loop_is_found_however_long():
    graph = grimp.ImportGraph()
    for importer, imported in [("a.one", "a.two"), ("a.two", "a.three"), ("a.three", "a.one")]:
        graph.add_import(importer=importer, imported=imported)
    graph.add_import(importer="a.three", imported="a.four")
    assert import_loops(graph) == ["a.one -> a.two -> a.three -> a.one"]
