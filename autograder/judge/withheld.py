"""The course library as a graded kernel sees it: the assignment's answers taken out.

A source notebook names, in its metadata, the ``cnnlib`` functions that do the work its graded
functions ask for (``"cnn_course": {"withheld": ["cnnlib.layers.conv2d_forward", ...]}``). While
that assignment is graded, the kernel's ``cnnlib`` is a copy in which each of those functions, and
each private helper (``_name``) that only they use, keeps its signature and docstring but only raises
:class:`ReferenceWithheld`. The copy is mounted over the real package in the sandbox, so the answer
cannot be imported, read from the file, found through ``cnnlib.__file__``, or exec'd from its source.
The grader's own process keeps the real library and computes the reference there.
"""

import ast
import json
import shutil
from pathlib import Path

METADATA_KEY = "cnn_course"


class ReferenceWithheld(RuntimeError):
    """Raised by a course function withheld while the assignment that asks for it is graded."""


def assignment_settings(source_notebooks):
    """The ``cnn_course`` settings of an assignment's source notebooks, merged.

    Returns:
        dict with ``withheld`` (sorted list of dotted names), ``mutates`` (function name ->
        argument names it may change in place), ``imports`` (the sorted allow-list of
        ``autograder.judge.allowed``, or None when no notebook declares one) and ``datasets``
        (the sorted names, "mnist" or "cifar10", of the datasets their graded cells load).
    """
    import nbformat

    withheld, mutates, imports, datasets = set(), {}, None, set()
    for path in source_notebooks:
        settings = nbformat.read(str(path), 4).metadata.get(METADATA_KEY, {})
        withheld.update(settings.get("withheld", []))
        for function, arguments in settings.get("mutates", {}).items():
            mutates.setdefault(function, []).extend(arguments)
        datasets.update(settings.get("datasets", []))
        if "imports" in settings:
            imports = (imports or set()) | set(settings["imports"])
    return {"withheld": sorted(withheld), "mutates": mutates, "datasets": sorted(datasets),
            "imports": None if imports is None else sorted(imports)}


def build_library(package_dir, withheld, dest, imports=None):
    """Copy the package at ``package_dir`` into ``dest`` with ``withheld`` functions stubbed, and,
    given an allow-list ``imports``, everything it does not allow stubbed too.

    Args:
        package_dir: the real ``cnnlib`` folder.
        withheld: dotted names ``cnnlib.<module>.<function>``.
        dest: folder to create; the copy is ``dest/<package name>``, and the stubs of the modules
            of the environment that ``imports`` does not allow are in ``dest/stubs``
            (``autograder.judge.allowed``).
        imports: the assignment's allow-list, or None (then nothing more is withheld).

    Returns:
        the copy's folder.

    Raises:
        ValueError: a withheld name that is not a function of the package, naming it.
    """
    package_dir, dest = Path(package_dir), Path(dest)
    if imports is not None:
        from autograder.judge.allowed import blocked_modules, build_stubs, cnnlib_not_allowed

        withheld = sorted(set(withheld) | set(cnnlib_not_allowed(package_dir, imports)))
        build_stubs(blocked_modules(imports), dest / "stubs")
    copy = dest / package_dir.name
    shutil.copytree(package_dir, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    by_module = {}
    for name in withheld:
        package, *module, function = name.split(".")
        if package != package_dir.name or not module:
            raise ValueError(f"Invalid withheld name {name!r}: expected {package_dir.name}.<module>.<function>.")
        by_module.setdefault(".".join(module), set()).add(function)
    for module, functions in by_module.items():
        path = copy.joinpath(*module.split(".")).with_suffix(".py")
        if not path.is_file():
            raise ValueError(f"Invalid withheld name: {package_dir.name}.{module} is not a module of the library.")
        path.write_text(_stub_functions(path.read_text(), functions, f"{package_dir.name}.{module}"))
    return copy


def _stub_functions(text, functions, module):
    tree = ast.parse(text)
    defined = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    missing = sorted(functions - set(defined))
    if missing:
        raise ValueError(f"Invalid withheld name(s): {', '.join(f'{module}.{m}' for m in missing)} "
                         f"not defined (functions of {module}: {', '.join(sorted(defined))}).")
    stubbed = _with_private_helpers(functions, defined)
    for name in stubbed:
        node = defined[name]
        docstring = node.body[:1] if ast.get_docstring(node) is not None else []
        message = json.dumps(f"{module}.{name} is withheld while this assignment is graded: "
                             "the grade is for your own implementation.")
        node.body = docstring + ast.parse(
            f"raise __import__('autograder.judge.withheld', fromlist=['ReferenceWithheld'])"
            f".ReferenceWithheld({message})").body
    return ast.unparse(tree) + "\n"


def _with_private_helpers(functions, defined):
    """``functions`` and the module's private functions that only they use (transitively): a
    helper that a function still available also needs stays, so that function keeps working."""
    kept = reachable([name for name in defined if name not in functions and not name.startswith("_")], defined)
    return {name for name in reachable(list(functions), defined) if name in functions or name not in kept}


def reachable(names, defined):
    """``names`` and the private functions of the module they call, transitively.

    Args:
        names: function names of one module.
        defined: name -> ``ast.FunctionDef`` of that module's top-level functions.
    """
    result, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in result:
            continue
        result.add(name)
        for node in ast.walk(defined[name]):
            if isinstance(node, ast.Name) and node.id.startswith("_") and node.id in defined:
                todo.append(node.id)
    return result
