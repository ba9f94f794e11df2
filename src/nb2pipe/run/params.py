"""Parameters from the command line (``-p name=value``) and files (``-f params.yaml``), and
the sweeps they describe.

``-p lr=0.1,0.01 -p depth=3,5`` is a grid: every combination runs. In a YAML file, a list under
``grid:`` is swept; other values are single values (a list value of a ``list`` parameter is
that list). ``-p`` wins over ``-f``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable

from nb2pipe.pipeline.model import Parameter


class ParameterError(ValueError):
    """A parameter nb2pipe cannot use: unknown name, wrong type, bad file."""


def parse_value(text: str):
    """``"3"`` → 3, ``"0.1"`` → 0.1, ``"true"`` → True, ``"[1, 2]"`` → [1, 2], else the text."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def coerce(parameter: Parameter, value):
    """``value`` as the parameter's type, or :class:`ParameterError`."""
    kind = parameter.type
    try:
        if kind == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        if kind == "str" and not isinstance(value, str):
            return json.dumps(value) if isinstance(value, (list, dict)) else str(value)
        if kind in ("none",):
            return value
        if kind == "literal":  # a tuple, a set, None…: `-p shape="(1, 2, 3)"` is that tuple
            from nb2pipe.pipeline.literals import parse_literal, round_trip_problem

            value = parse_literal(value) if isinstance(value, str) else value
            if isinstance(value, list) and isinstance(parameter.default, tuple):
                value = tuple(value)  # from JSON (a YAML file, `-p shape=[1, 2]`)
            if round_trip_problem(value) is None:
                return value
        expected = {"int": int, "float": float, "bool": bool, "str": str, "list": list,
                    "dict": dict}[kind]
        if isinstance(value, expected) and not (kind == "int" and isinstance(value, bool)):
            return value
    except (KeyError, ValueError):
        pass
    what = {"int": "an integer", "float": "a number", "bool": "True or False",
            "str": "a string", "list": "a list", "dict": "a dict",
            "literal": "a Python literal such as (1, 2, 3)"}.get(kind, f"a {kind}")
    raise ParameterError(f"parameter `{parameter.name}` is {what} (default "
                         f"{parameter.default!r}), not {value!r}")


def parameter_sets(parameters: list[Parameter], cli: Iterable[str] = (),
                   file: str | None = None) -> list[dict]:
    """Every parameter set to run: defaults, then the file, then ``-p`` values; sweeps expanded.

    Raises:
        ParameterError: an unknown name (the message lists the known ones), a bad value or file.
    """
    known = {p.name: p for p in parameters}
    single: dict[str, object] = {}
    grid: dict[str, list] = {}
    if file:
        loaded = _load_file(file)
        for name, value in loaded.items():
            if name == "grid":
                if not isinstance(value, dict):
                    raise ParameterError(f"{file}: `grid` must map parameter names to lists")
                for key, values in value.items():
                    grid[key] = values if isinstance(values, list) else [values]
            else:
                single[name] = value
    for item in cli:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ParameterError(f"`-p {item}`: write `-p NAME=VALUE`")
        parts = _top_level_split(text)
        if len(parts) > 1:  # a sweep: commas inside brackets or quotes belong to one value
            grid[name] = [parse_value(part) for part in parts]
            single.pop(name, None)
            continue
        single[name] = parse_value(text)
        grid.pop(name, None)
    for name in list(single) + list(grid):
        if name not in known:
            import difflib

            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            names = ", ".join(known) or "none: tag the cell that sets them `parameters`"
            raise ParameterError(f"unknown parameter `{name}`{hint} (parameters: {names})")
    base = {p.name: p.default for p in parameters}
    base.update({n: coerce(known[n], v) for n, v in single.items()})
    if not grid:
        return [base]
    names = list(grid)
    values = [[coerce(known[n], v) for v in grid[n]] for n in names]
    return [{**base, **dict(zip(names, combination))}
            for combination in itertools.product(*values)]


def _top_level_split(text: str) -> list[str]:
    """``"1,2"`` → two values; ``"(1, 2),(3, 4)"`` → two tuples; ``"[1, 2]"`` → one list."""
    parts, depth, quote, start = [], 0, "", 0
    for position, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            parts.append(text[start:position])
            start = position + 1
    parts.append(text[start:])
    return parts


def _load_file(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as error:
        raise ParameterError(f"cannot read {path}: {error.strerror}") from None
    if path.endswith(".json"):
        try:
            data = json.loads(text)
        except ValueError as error:
            raise ParameterError(f"{path}: not valid JSON: {error}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise ParameterError(f"{path}: not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of parameter names to values")
    return data


#: ``-p DATA_DIR=s3://bucket/prefix``: the pipeline's data folder, when the notebook has no
#: parameter of that name (Kubeflow runs read the notebook's data files from there).
DATA_DIR = "DATA_DIR"


def split_data_dir(parameters: list[Parameter], cli: list[str]) -> tuple[list[str], str | None]:
    """``cli`` without a ``-p DATA_DIR=URI`` that names the data folder, and that URI (None
    when there is none, or when DATA_DIR is one of the notebook's own parameters)."""
    if any(p.name == DATA_DIR for p in parameters):
        return list(cli), None
    kept, uri = [], None
    for item in cli:
        name, sep, text = item.partition("=")
        if sep and name.strip() == DATA_DIR:
            uri = text.strip()
        else:
            kept.append(item)
    return kept, uri
