"""Small libcst helpers shared by the fixes."""

from __future__ import annotations

from collections.abc import Callable


def edit_at(node_type: str, edits: dict[tuple, Callable]) -> Callable:
    """A change for :meth:`NotebookEditor.rewrite`: ``edits[(line, col)]`` rewrites the node of
    libcst type ``node_type`` (``"Call"``, ``"SimpleString"``…) that starts at that 1-based
    position; every other node is left as it is.

    Several nodes can start at one position: in ``Tree(depth=3).fit(X, y)`` the call of
    ``fit`` starts where the call of ``Tree`` does. A key ``(line, col, end_line, end_col)``
    names the one that also ends there; a ``(line, col)`` key edits only the innermost (the
    first one left), never a method chained after it."""

    def change(module):
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(module)
        positions_of = wrapper.resolve(PositionProvider)
        done: set[tuple] = set()

        def leave(self, original, updated):
            where = positions_of[original]
            start = (where.start.line, where.start.column + 1)
            full = start + (where.end.line, where.end.column + 1)
            key = full if full in edits else start if start in edits else None
            if key is None or key in done:
                return updated
            done.add(key)
            return edits[key](updated)

        transformer = type("Edit", (libcst.CSTTransformer,), {f"leave_{node_type}": leave})
        return wrapper.module.visit(transformer())

    return change


def edit_calls(positions: set[tuple[int, int]], edit: Callable) -> Callable:
    """:func:`edit_at` for the calls that start at ``positions``, all edited alike."""
    return edit_at("Call", {position: edit for position in positions})


def add_keyword(name: str, value: str) -> Callable:
    """An edit for :func:`edit_calls` that appends ``name=value`` to a call's arguments."""

    def edit(call):
        import libcst

        args = list(call.args)
        if args and args[-1].comma is libcst.MaybeSentinel.DEFAULT:
            args[-1] = args[-1].with_changes(
                comma=libcst.Comma(whitespace_after=libcst.SimpleWhitespace(" ")))
        args.append(libcst.Arg(keyword=libcst.Name(name), value=libcst.parse_expression(value),
                               equal=libcst.AssignEqual(
                                   whitespace_before=libcst.SimpleWhitespace(""),
                                   whitespace_after=libcst.SimpleWhitespace(""))))
        return call.with_changes(args=args)

    return edit
