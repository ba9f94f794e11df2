"""Parameter values that JSON cannot carry exactly — tuples, sets, ``None``, complex numbers,
bytes, and containers holding them (``input_shape = (32, 32, 3)``). They are parameters of
type ``literal``: Kubeflow gets them as text (a string parameter holding the Python literal,
``"(32, 32, 3)"``) and each component turns the text back into the same value with
``ast.literal_eval``; papermill gets the literal itself; ``-p input_shape="(1, 2, 3)"`` is read
with ``ast.literal_eval`` too. Anything else JSON can carry keeps its own KFP type."""

from __future__ import annotations

import ast
import math
from typing import Any

LITERAL = "literal"


def json_exact(value: Any, nested: bool = False) -> bool:
    """Whether Kubeflow gives ``value`` back with the same types: JSON's types (no tuple
    turned list, no set), no integer inside a list or dict — Kubeflow keeps a list or dict
    parameter as a protobuf Struct, whose numbers are all doubles (`[0]` would come back as
    `[0.0]`) — and no dict of two keys or more, whose order the Struct does not keep."""
    kind = type(value)
    if kind in (bool, str):
        return True
    if kind is int:
        return not nested
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(json_exact(v, True) for v in value)
    if kind is dict:  # (a Struct's keys come back in another order: `{"k", "v"}` as
        # `{"v", "k"}`, which changes any loop over them)
        return len(value) <= 1 and all(type(k) is str and json_exact(v, True)
                                       for k, v in value.items())
    return False


def plain_json(value: Any) -> bool:
    """Whether JSON gives ``value`` back as it is (Airflow's params and ``--conf``): JSON's
    types with finite floats, lists and string-keyed dicts of them (JSON keeps a dict's order
    and an integer's type, unlike Kubeflow's Struct)."""
    kind = type(value)
    if kind in (bool, str, int):
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(plain_json(v) for v in value)
    if kind is dict:
        return all(type(k) is str and plain_json(v) for k, v in value.items())
    return False


def round_trip_problem(value: Any) -> str | None:
    """Why ``repr(value)`` would not read back as ``value`` (``set()``, ``nan``), or ``None``."""
    try:
        back = ast.literal_eval(repr(value))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return f"`{repr(value)[:40]}` cannot be written as a literal and read back"
    if back != value or type(back) is not type(value):
        return f"`{repr(value)[:40]}` reads back as another value"
    return None


def literal_text(value: Any) -> str:
    """``repr(value)``, with infinite floats written ``1e999`` (which reads back as infinity),
    so that :func:`parse_literal` gives the value back."""
    kind = type(value)
    if kind is float and math.isinf(value):
        return "1e999" if value > 0 else "-1e999"
    if kind is complex and (math.isinf(value.real) or math.isinf(value.imag)):
        imag = literal_text(abs(value.imag)) if math.isinf(value.imag) else repr(abs(value.imag))
        sign = "-" if math.copysign(1, value.imag) < 0 else "+"
        return f"({literal_text(value.real)}{sign}{imag}j)"
    if kind is list:
        return "[" + ", ".join(literal_text(v) for v in value) + "]"
    if kind is tuple:
        return "(" + ", ".join(literal_text(v) for v in value) + \
            ("," if len(value) == 1 else "") + ")"
    if kind is set and value:
        return "{" + ", ".join(literal_text(v) for v in value) + "}"
    if kind is dict:
        return "{" + ", ".join(f"{literal_text(k)}: {literal_text(v)}"
                               for k, v in value.items()) + "}"
    return repr(value)


def parse_literal(text: str) -> Any:
    """The value of a literal parameter given as text (``"(1, 2, 3)"``); the text itself if it
    is not a Python literal."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
