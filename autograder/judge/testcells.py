"""What a notebook's cells are to the grader: which are graded tests, which names are answers.

Graded test cells run in the grader's own process (``autograder.judge.harness``), not in the
submission's kernel. So that they can, they follow three rules, which
:func:`contract_problems` checks for each course notebook (a test runs it in CI):

1. a test cell uses only names bound by the notebook's first code cell (its imports), by earlier
   test cells, and by solution cells (the student's answers, which the grader fetches from the
   kernel);
2. no ordinary cell uses a name that only test cells bind, and no visible test cell one that only
   hidden test cells bind (visible tests run before hidden ones while graded);
3. the first code cell is imports only.
"""

import ast
import builtins
import symtable

from IPython.core.inputtransformer2 import TransformerManager

HIDDEN_MARKER = "BEGIN HIDDEN TESTS"


def nbgrader_flags(cell):
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def is_test_cell(cell):
    """A graded cell that is not the student's: nbgrader's autograder tests."""
    flags = nbgrader_flags(cell)
    return cell.cell_type == "code" and bool(flags.get("grade")) and not flags.get("solution")


def is_solution_cell(cell):
    return cell.cell_type == "code" and bool(nbgrader_flags(cell).get("solution"))


def is_hidden(source):
    return HIDDEN_MARKER in source


def python_source(source):
    """The cell as plain Python (IPython's magics and shell escapes turned into calls)."""
    return TransformerManager().transform_cell(source)


def bound_names(source):
    """Names a cell binds at top level (assignments, definitions, imports)."""
    table = symtable.symtable(python_source(source), "<cell>", "exec")
    return {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}


def free_names(source):
    """Names a cell reads from the notebook's namespace (not bound by itself, not built-ins)."""
    table = symtable.symtable(python_source(source), "<cell>", "exec")
    own = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    used = set()
    todo = [table]
    while todo:
        scope = todo.pop()
        todo.extend(scope.get_children())
        for symbol in scope.get_symbols():
            if symbol.is_referenced() and (scope is table or symbol.is_global()):
                used.add(symbol.get_name())
    return used - own - set(dir(builtins)) - {"get_ipython"}


def first_code_cell(nb):
    return next((cell for cell in nb.cells if cell.cell_type == "code"), None)


def answer_names(nb):
    """Names the student's solution cells bind: what a test may ask the kernel for."""
    names = set()
    for cell in nb.cells:
        if is_solution_cell(cell):
            names |= bound_names(cell.source)
    return names


def preload_code(nb):
    """Code that imports, in order and each on its own, what the notebook's cells other than its
    tests import at top level (``""`` if nothing): the kernel factory runs it, in a namespace
    of its own, so that the submission's cells find NumPy, Matplotlib or Keras already loaded."""
    statements = []
    for cell in nb.cells:
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        try:
            tree = ast.parse(python_source(cell.source))
        except SyntaxError:
            continue
        statements += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))
                       and getattr(node, "level", 0) == 0]
    statements = list(dict.fromkeys(statements))
    if not statements:
        return ""
    return ("for statement in " + repr(statements) + ":\n"
            "    try:\n        exec(statement, {})\n    except Exception:\n        pass\n")


def test_labels(nb):
    """grade id -> a name for each test cell that says what it checks, for feedback pages:
    ``"conv_forward: hidden tests"``, ``"zero_pad: visible tests"``."""
    answers = answer_names(nb)
    labels = {}
    for cell in nb.cells:
        if is_test_cell(cell):
            checked = sorted(free_names(cell.source) & answers) or ["the notebook"]
            kind = "hidden tests" if is_hidden(cell.source) else "visible tests"
            labels[nbgrader_flags(cell).get("grade_id")] = f"{', '.join(checked)}: {kind}"
    return labels


def contract_problems(nb):
    """The ways a source notebook breaks the rules above, one line each (empty if none)."""
    problems = []
    first = first_code_cell(nb)
    if first is None:
        return problems
    try:
        tree = ast.parse(python_source(first.source))
    except SyntaxError as error:
        return [f"the first code cell does not parse: {error}"]
    if not all(isinstance(node, (ast.Import, ast.ImportFrom)) for node in tree.body):
        problems.append("the first code cell must hold imports only (it runs in the grader too)")
    available = bound_names(first.source) | answer_names(nb)
    test_only, ordinary, hidden_only = set(), set(bound_names(first.source)), set()
    for number, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code" or cell is first:
            continue
        if is_test_cell(cell):
            grade_id = nbgrader_flags(cell).get("grade_id")
            unknown = free_names(cell.source) - available
            if unknown:
                problems.append(f"test cell {grade_id!r} uses {', '.join(sorted(unknown))}, bound by "
                                "no solution cell, earlier test cell or the first cell")
            early = set() if is_hidden(cell.source) else free_names(cell.source) & hidden_only
            if early:
                problems.append(f"visible test cell {grade_id!r} uses {', '.join(sorted(early))}, bound "
                                "only by a hidden test cell (visible tests run first while graded)")
            bound = bound_names(cell.source)
            hidden_only = hidden_only | (bound - available) if is_hidden(cell.source) else hidden_only - bound
            available |= bound
            test_only |= bound - ordinary
        else:
            ordinary |= bound_names(cell.source)
            test_only -= ordinary
            leaked = free_names(cell.source) & test_only
            if leaked:
                problems.append(f"code cell {number} uses {', '.join(sorted(leaked))}, bound only by a test cell")
    return problems
