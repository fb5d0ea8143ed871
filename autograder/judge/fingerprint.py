"""Fingerprints of solution code that do not change with names, comments or layout.

A solution is parsed, its docstrings dropped, and every name it binds or reads (variables,
arguments, functions) replaced by its order of first appearance; what is left is the sequence of
its syntax tree's nodes, constants included. Its fingerprint is the set of hashes of that
sequence's K-token windows. Two solutions' similarity is the share of the smaller fingerprint
found in the other (1.0: one holds all of the other's windows).

Renaming, reformatting, comments and blank lines leave a fingerprint as it was; a solution
written independently shares some windows with another (the same NumPy calls, loops over the
same axes) but far fewer: ``tests/test_copies.py`` measures both and sets :data:`THRESHOLD`.
"""

import ast
import hashlib

from autograder.judge.testcells import python_source

K = 8              # tokens per window
MIN_TOKENS = 120   # smaller solutions (one-liners, which every correct answer shares) are not compared
THRESHOLD = 0.75   # between independent solutions (at most 0.48) and pasted ones (1.0): tests/test_copies.py


class _Normalised(ast.NodeTransformer):
    """Names by order of first appearance, docstrings dropped, attributes (``np.sum``) kept."""

    def __init__(self):
        self.names = {}

    def _name(self, name):
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id=self._name(node.id), ctx=node.ctx), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg=self._name(node.arg)), node)

    def visit_FunctionDef(self, node):
        node.name = self._name(node.name)
        body = node.body[1:] if node.body and _is_docstring(node.body[0]) else node.body
        node.body = body or [ast.Pass()]
        self.generic_visit(node)
        return node


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
        and isinstance(node.value.value, str)


def tokens(source):
    """The solution as a list of node tokens (``"Call"``, ``"Name:v3"``, ``"Constant:1"``); an
    empty list for code that does not parse."""
    try:
        tree = _Normalised().visit(ast.parse(python_source(source)))
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in _preorder(tree):
        kind = type(node).__name__
        if isinstance(node, ast.Name):
            kind += ":" + node.id
        elif isinstance(node, ast.Constant):
            kind += ":" + repr(node.value)[:20]
        elif isinstance(node, ast.Attribute):
            kind += ":" + node.attr
        elif isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.AugAssign, ast.BoolOp)):
            kind += ":" + type(getattr(node, "op", None) or node.ops[0]).__name__
        found.append(kind)
    return found


def _preorder(node):
    yield node
    for child in ast.iter_child_nodes(node):
        yield from _preorder(child)


def fingerprint(source):
    """The set of hashes of the solution's K-token windows (empty below MIN_TOKENS tokens)."""
    found = tokens(source)
    if len(found) < MIN_TOKENS:
        return frozenset()
    return frozenset(hashlib.blake2b(" ".join(found[i:i + K]).encode(), digest_size=8).digest()
                     for i in range(len(found) - K + 1))


def similarity(a, b):
    """The share of the smaller fingerprint found in the other; 0.0 when either is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))
