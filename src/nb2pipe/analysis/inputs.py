"""The data files a notebook reads: ``pd.read_csv("data/train.csv")``, ``open(path)``,
``np.load(DATA_DIR + "/x.npy")``…, found by their call and their first argument.

A path is kept as the expression written in the cell (``os.path.join(DATA_DIR,
"train.csv")``) with the parameters it uses, so that a run resolves it with its own parameter
values (:func:`resolve`). Expressions built only from literals, parameters, ``+``, ``/``
(``pathlib``), f-strings, ``os.path.join`` and ``Path(...)`` resolve; anything else (a path
computed at run time) does not, and says so. Runs hash the files these name (lineage,
``run --if-changed``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

#: Calls (by their last name) that read a file named by their first argument.
FILE_READERS = frozenset({
    "read_csv", "read_table", "read_parquet", "read_feather", "read_excel", "read_json",
    "read_pickle", "read_orc", "read_stata", "read_sas", "read_spss", "read_hdf", "read_fwf",
    "read_xml", "loadtxt", "genfromtxt", "fromfile", "load", "open", "imread", "load_img",
    "load_workbook", "read_image",
})
#: ``load`` of these modules reads a file; ``json.load(f)`` and others read an open handle.
_LOAD_MODULES = ("numpy.", "joblib.", "torch.", "np.")


@dataclass(frozen=True)
class DataRead:
    """One read of a data file: the path as written, where, and by which call."""

    path: str  # the first argument's source text
    cell: int  # 0-based index of the cell
    line: int
    call: str  # the callee as written (``pd.read_csv``)
    parameters: tuple[str, ...] = ()  # the parameters the path uses

    def to_dict(self) -> dict:
        return {"path": self.path, "cell": self.cell, "line": self.line, "call": self.call,
                "parameters": list(self.parameters)}


def data_reads(analysis, cells: list[int], parameters: set[str]) -> list[DataRead]:
    """The file reads of ``cells`` (indices), in order; ``parameters`` are the pipeline's
    parameter names (a path may use them)."""
    from nb2pipe.analysis.facts import names_in

    found: list[DataRead] = []
    wanted = set(cells)
    for cell, call, qualified in analysis.qualified_calls:
        if cell.index not in wanted or not call.node.args:
            continue
        last = (call.attr or call.dotted or "").rpartition(".")[2]
        if last not in FILE_READERS:
            continue
        if last == "load" and not (qualified or "").startswith(_LOAD_MODULES):
            continue
        if last == "open" and not _opens_for_reading(call.node):
            continue
        argument = call.node.args[0]
        source = ast.get_source_segment(cell.code.masked.source, argument) if cell.code \
            else None
        if not source:
            continue
        if isinstance(argument, ast.Name) and argument.id not in parameters:
            literal = _literal_assignment(analysis, argument.id)
            if literal is None:
                continue  # a handle, or a value computed elsewhere: nothing to hash
            source = repr(literal)
        used = tuple(sorted(names_in(argument) & parameters))
        found.append(DataRead(source, cell.index, argument.lineno, call.dotted or last, used))
    return found


def _opens_for_reading(node: ast.Call) -> bool:
    mode = node.args[1] if len(node.args) > 1 else next(
        (k.value for k in node.keywords if k.arg == "mode"), None)
    if mode is None:
        return True
    return isinstance(mode, ast.Constant) and isinstance(mode.value, str) and \
        not set(mode.value) & set("wax+")


def _literal_assignment(analysis, name: str) -> str | None:
    """The string ``name`` is bound to, when it is bound once, to a literal
    (``PATH = "data.csv"``)."""
    if analysis.bind_counts.get(name) != 1:
        return None
    for _cell, facts in analysis.cells_with_facts():
        for assignment in facts.assignments:
            if assignment.name == name:
                value = assignment.value
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    return value.value
                return None
    return None


class Unresolved(ValueError):
    """A path expression that cannot be computed before the run."""


def resolve(expression: str, values: dict) -> str:
    """The path ``expression`` names with these parameter ``values``.

    Raises:
        Unresolved: it uses something other than literals, parameters, ``+``, ``/``,
            f-strings, ``os.path.join`` and ``Path(...)``.
    """
    names = dict(values)
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise Unresolved(expression) from None
    return str(_evaluate(tree.body, names))


def _evaluate(node: ast.AST, names: dict):
    import os
    import pathlib

    if isinstance(node, ast.Constant) and isinstance(node.value, (str, int, float)):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in names:
            return names[node.id]
        raise Unresolved(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.FormattedValue):
                parts.append(str(_evaluate(value.value, names)))
            else:
                parts.append(str(_evaluate(value, names)))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Div)):
        left, right = _evaluate(node.left, names), _evaluate(node.right, names)
        if isinstance(node.op, ast.Div):
            return pathlib.PurePath(str(left)) / str(right)
        return str(left) + str(right) if isinstance(left, pathlib.PurePath) else left + right
    if isinstance(node, ast.Call):
        callee = ast.unparse(node.func)
        arguments = [_evaluate(a, names) for a in node.args]
        if callee in ("os.path.join", "path.join", "join"):
            return os.path.join(*map(str, arguments))
        if callee in ("Path", "pathlib.Path", "PurePath"):
            return pathlib.PurePath(*map(str, arguments))
    raise Unresolved(ast.unparse(node))
