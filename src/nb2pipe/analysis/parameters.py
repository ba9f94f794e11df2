"""Which top-level constants of a notebook are settings that a parameters cell can hold.

Shared by NB303's fix (:mod:`nb2pipe.lint.rules.no_parameters_cell`) and ``--auto``'s tidy.
"""

import ast

from nb2pipe.analysis.secrets import by_name, by_shape


def _literal(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return not (isinstance(node.value, str) and (len(node.value) > 200 or "\n" in node.value))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        return isinstance(node.operand, ast.Constant) and \
            isinstance(node.operand.value, (int, float))
    if isinstance(node, (ast.Tuple, ast.List)):
        return len(node.elts) <= 10 and all(isinstance(e, ast.Constant) for e in node.elts)
    return False


def liftable(analysis) -> list:
    """Top-level ``NAME = literal`` assignments that can move to a parameters cell.

    A name qualifies when it is bound exactly once in the whole notebook, by that assignment,
    is never changed in place (``primes = []`` then ``primes.append(p)`` is state, not a
    setting), and is either UPPER_CASE or assigned in one of the first two code cells.
    """
    counts = dict(analysis.bind_counts)
    for binds in analysis.magic_binds.values():
        for name in binds:
            counts[name] = counts.get(name, 0) + 2
    changed = {name for facts in analysis.facts.values() for name in facts.mutated}
    early = [c.index for c in analysis.notebook.code_cells if not c.is_empty][:2]
    found = []
    for cell, facts in analysis.cells_with_facts():
        if cell.code.masked.magics and any(m.kind == "cell" for m in cell.code.masked.magics):
            continue
        for assignment in facts.assignments:
            name = assignment.name
            if not assignment.top or counts.get(name) != 1 or not _literal(assignment.value) \
                    or name in changed:
                continue
            if name.startswith("_") or not (name.isupper() or cell.index in early):
                continue
            if isinstance(assignment.stmt, ast.AnnAssign):
                continue
            value = assignment.value
            if isinstance(value, ast.Constant) and isinstance(value.value, str) and (
                    by_shape(value.value) or by_name(name, value.value)):
                continue  # a secret is no parameter: parameters get logged (NB501 handles it)
            found.append((cell, assignment))
    return found
