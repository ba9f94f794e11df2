"""The floors of ARCHITECTURE.md hold: every import in `src/nb2pipe` (inside functions too)
goes to its own floor or below, no two rooms import each other, and no modules form a circle."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "nb2pipe"


def floors() -> dict[str, int]:
    """Room → floor, from the table in ARCHITECTURE.md."""
    table = {}
    for line in (ROOT / "ARCHITECTURE.md").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\| (\d+) \| (.+?) \|", line)
        if match:
            for room in re.findall(r"`([\w.]+)`", match.group(2)):
                table[room] = int(match.group(1))
    return table


def modules() -> dict[str, Path]:
    found = {}
    for path in SOURCE.rglob("*.py"):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict) -> set[str]:
    """The modules of ours that ``name`` imports by name (``from pkg import sub`` is ``pkg.sub``;
    a package's ``__init__`` that Python runs on the way is not counted)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {target for target in found if target in known and target != name}


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def graph():
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_every_room_has_a_floor():
    table = floors()
    rooms = {room(m) for m in modules()}
    assert rooms - set(table) == set(), "add these rooms to ARCHITECTURE.md's table"
    assert set(table) - rooms == set(), "ARCHITECTURE.md names rooms that do not exist"


def test_imports_go_down_or_sideways_never_up():
    table = floors()
    upward = sorted(f"{source} (floor {table[room(source)]}) imports {target} "
                    f"(floor {table[room(target)]})"
                    for source, targets in graph().items() for target in targets
                    if table[room(target)] > table[room(source)])
    assert upward == []


def test_no_two_rooms_import_each_other():
    edges = {(room(s), room(t)) for s, targets in graph().items() for t in targets
             if room(s) != room(t)}
    assert sorted((a, b) for a, b in edges if (b, a) in edges) == []


def test_no_circle_between_modules():
    edges = graph()
    circles, state = [], {}

    def visit(module, path):
        state[module] = "open"
        for target in sorted(edges[module]):
            if state.get(target) == "open":
                circles.append(path[path.index(target):] + [target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert circles == []


def test_the_check_finds_what_it_is_for():
    """The walk sees imports inside functions and relative ones, and the floors are read."""
    known = modules()
    found = imports("nb2pipe.lint.rules.untagged_training_notebook",
                    known["nb2pipe.lint.rules.untagged_training_notebook"], known)
    assert {"nb2pipe.auto", "nb2pipe.lint.tidy"} <= found  # both inside `fix`
    table = floors()
    assert table["notebook"] < table["analysis"] < table["pipeline"] < table["lint"] < \
        table["cli"]
