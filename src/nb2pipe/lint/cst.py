"""Small libcst helpers shared by the fixes."""

from __future__ import annotations

from collections.abc import Callable


def edit_calls(positions: set[tuple[int, int]], edit: Callable) -> Callable:
    """A change for :meth:`NotebookEditor.rewrite` that applies ``edit`` to the calls (and only
    those) that start at the given 1-based ``(line, col)`` positions."""

    def change(module):
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(module)
        positions_of = wrapper.resolve(PositionProvider)

        class Transformer(libcst.CSTTransformer):
            def leave_Call(self, original, updated):
                start = positions_of[original].start
                if (start.line, start.column + 1) in positions:
                    return edit(updated)
                return updated

        return wrapper.module.visit(Transformer())

    return change


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
