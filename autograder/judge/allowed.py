"""What a graded kernel may import: an allow-list per source notebook, not a deny-list.

A source notebook declares, next to ``cnn_course.withheld``, what its graded kernel may import::

    "cnn_course": {"withheld": [...],
                   "imports": ["numpy", "matplotlib", "cnnlib.viz", "cnnlib.layers.relu_forward"]}

- a top-level module of the environment (``numpy``, ``keras``): its distribution and every
  distribution that one requires may be imported. The kernel's own needs (``ipykernel`` and what
  it requires, NumPy for the calls' plain data), the standard library and the course's own
  package always may. Every other top-level module of the environment is replaced, in the graded
  kernel's sandbox, by a stub whose import raises ``ModuleNotFoundError`` naming it
  (:func:`build_stubs`), so that ``import tensorflow`` in 01 fails as if it were not installed;
- ``cnnlib.<module>``: that whole module of the course library;
- ``cnnlib.<module>.<function>``: that function. Every other function of ``cnnlib`` is withheld
  (``autograder.judge.withheld``), and with it each private helper that no allowed function uses,
  but the library's plumbing (``LIBRARY_PLUMBING``: quieting TensorFlow's logs, fast mode).

A notebook without ``imports`` has only its ``withheld`` list. A notebook whose kernel must keep
Keras (05-07) names its NumPy exercises in ``numpy_only`` instead: ``autograder.judge.numpy_only``
keeps the frameworks out of those calls.
"""

import importlib.machinery
import importlib.metadata
import json
import re
import sys
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

KERNEL_NEEDS = ("ipykernel", "numpy")  # the kernel itself, and the plain data of the calls
TOOLS = ("pip", "setuptools", "wheel")  # loaded by the interpreter's own start (.pth files)
BLOCKED = "{module} cannot be imported while this assignment is graded: the grade is for your own code."
BLOCKED_PATTERN = re.compile(r"([A-Za-z_]\w*) cannot be imported while this assignment is graded")
STUBS_FILE = "stubs.json"
# The course library's own plumbing, used as it is imported: never an exercise's work.
LIBRARY_PLUMBING = ("cnnlib.quiet_tf", "cnnlib.mode")


def blocked_modules(imports):
    """The top-level modules of this environment that a kernel allowed ``imports`` may not import.

    Args:
        imports: the notebook's ``imports`` (dotted names; those under ``cnnlib`` are not modules
            of the environment and are ignored here).

    Returns:
        sorted list of top-level module names.
    """
    by_module = importlib.metadata.packages_distributions()
    own = {canonicalize_name(d) for d in by_module.get("cnnlib", [])}
    allowed = _required_closure([d for name in (*imports, *KERNEL_NEEDS) if not name.startswith("cnnlib")
                                 for d in by_module.get(name.split(".")[0], [name.split(".")[0]])])
    keep = allowed | own | {canonicalize_name(t) for t in TOOLS}
    return sorted(module for module, dists in by_module.items()
                  if module not in sys.stdlib_module_names and module.isidentifier()
                  and not any(canonicalize_name(d) in keep for d in dists))


def _required_closure(names):
    """Canonical names of the distributions ``names`` and those they require, transitively."""
    environment = dict(default_environment(), extra="")
    done, todo = set(), list(names)
    while todo:
        name = canonicalize_name(todo.pop())
        if name in done:
            continue
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue
        done.add(name)
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate(environment):
                todo.append(requirement.name)
    return done


def build_stubs(modules, dest):
    """Stubs of ``modules`` under ``dest``, and where each goes; written to ``dest/stubs.json``.

    Each module gets a package ``dest/<module>/__init__.py`` that raises ``ModuleNotFoundError``
    (put first on the module path where there is no sandbox) and, for a module that is a single
    file, a file ``dest/files/<module>.py`` of the same text, bound over that file in the sandbox.

    Returns:
        dict real folder or file -> stub shown in its place.
    """
    dest = Path(dest)
    places = {}
    for module in modules:
        # Found on the module path afresh: a module already imported here may have added
        # folders to its own path (TensorFlow adds its _api/v2), which no sandbox could bind over.
        try:
            spec = importlib.machinery.PathFinder.find_spec(module)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        text = f"raise ModuleNotFoundError({BLOCKED.format(module=module)!r}, name={module!r})\n"
        package = dest / module
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(text)
        for folder in spec.submodule_search_locations or []:
            places[str(Path(folder).resolve())] = str(package)
        if not spec.submodule_search_locations and spec.origin and Path(spec.origin).is_file():
            single = dest / "files" / f"{module}.py"
            single.parent.mkdir(exist_ok=True)
            single.write_text(text)
            places[str(Path(spec.origin).resolve())] = str(single)
    (dest / STUBS_FILE).write_text(json.dumps(places, indent=1, sort_keys=True))
    return places


def stub_places(library):
    """The stubs ``build_stubs`` wrote into ``<library>/stubs`` (empty without them)."""
    path = Path(library) / "stubs" / STUBS_FILE if library else None
    return json.loads(path.read_text()) if path and path.is_file() else {}


def cnnlib_not_allowed(package_dir, imports):
    """The public functions of the course library that ``imports`` does not allow, as dotted names
    ``cnnlib.<module>.<function>`` (none when a module is allowed whole)."""
    import ast

    package_dir = Path(package_dir)
    allowed = {name for name in imports if name.startswith(package_dir.name + ".")} | set(LIBRARY_PLUMBING)
    names = []
    for path in sorted(package_dir.glob("*.py")):
        module = f"{package_dir.name}.{path.stem}"
        if path.stem.startswith("_") or module in allowed:
            continue
        tree = ast.parse(path.read_text())
        names += [f"{module}.{node.name}" for node in tree.body if isinstance(node, ast.FunctionDef)
                  and not node.name.startswith("_") and f"{module}.{node.name}" not in allowed]
    return names
