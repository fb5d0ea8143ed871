"""The grader's rooms: which package of ``autograder`` may import which.

The rule: **imports point downward only.** The packages stand in this order, top first::

    cli  >  grading  >  course  >  render  >  sandbox  >  judge  >  checks, errors

A module may import from its own package or from a package below its own, never from one above,
and no chain of imports between modules comes back to where it started (no circles), at any
level: a function's own ``import`` counts as much as one at the top of its module.
``python tests/autograder/test_layout.py`` prints the graph between packages.
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "autograder"
# Top first; names on one level may not import each other.
LEVELS = (("cli",), ("grading",), ("course",), ("render",), ("sandbox",), ("judge",), ("checks", "errors"))
RANK = {name: rank for rank, names in enumerate(LEVELS) for name in names}
MAX_LINES = 400
MAX_CLASS_LINES = 160


def modules():
    """Dotted name (``autograder.grading.pipeline``) -> path, for every module of the package."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path, known):
    """The modules of ``known`` that the module at ``path`` imports, anywhere in its code."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        targets |= {name for name in names if name in known}
    return targets


def room(module):
    """The package (or top-level module) a module belongs to: ``grading`` for ``autograder.grading.x``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def module_graph():
    known = modules()
    return {name: imports(path, known) - {name, "autograder"} for name, path in known.items()}


def package_graph():
    """room -> the rooms it imports from (its own left out)."""
    graph = defaultdict(set)
    for module, targets in module_graph().items():
        for target in targets:
            if room(target) != room(module):
                graph[room(module)].add(room(target))
    return graph


def test_every_room_has_a_place_in_the_order():
    rooms = {room(module) for module in modules()} - {None}
    assert rooms == set(RANK), f"packages without a level, or levels without a package: {rooms ^ set(RANK)}"


def test_imports_point_downward_only():
    """Does every import between packages go from a higher level to a strictly lower one?"""
    upward = [f"{module} imports {target}" for module, targets in module_graph().items() for target in targets
              if room(module) and room(target) != room(module) and RANK[room(target)] <= RANK[room(module)]]
    assert not upward, "imports that do not point downward:\n" + "\n".join(sorted(upward))


def test_no_module_imports_itself_back():
    """No circle of imports between modules, however long."""
    graph, state, circles = module_graph(), {}, []

    def visit(module, path):
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                circles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not circles, "import circles:\n" + "\n".join(circles)


@pytest.mark.parametrize("package", sorted(set(RANK) - {"cli", "checks", "errors"}))
def test_each_package_says_what_it_does_may_use_and_is_used_by(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text())) or ""
    assert len(doc.splitlines()) >= 3 and "uses" in doc.lower() and "used by" in doc.lower(), doc


def test_files_and_classes_stay_small():
    """No module over MAX_LINES lines, no class over MAX_CLASS_LINES."""
    large = []
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_LINES:
            large.append(f"{name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES:
                large.append(f"{name}.{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not large, "\n".join(large)


if __name__ == "__main__":
    for source in sorted(package_graph(), key=lambda r: RANK.get(r, -1)):
        targets = sorted(package_graph()[source], key=lambda r: RANK[r])
        print(f"{source:8s} -> {', '.join(targets)}", file=sys.stdout)
