"""Baseline schemas: inferred with pandera, made stricter, saved in pandera's YAML format;
and frames validated against them, every failure collected.

``pandera.infer_schema`` alone is too lenient for a baseline: it coerces (a float column then
passes an int64 schema) and gives text columns no checks (so an unseen category passes). The
schema here keeps each column's exact dtype without coercion, requires every column and
allows no other, makes a column nullable only when the baseline had nulls, and lists the
allowed values of text, categorical and boolean columns with at most :data:`MAX_CATEGORIES`
values. Numeric ranges are not checked: a shift in numbers is drift (a warning), measured
against the profile, not a broken schema.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Text, categorical and boolean columns with at most this many values get an ``isin`` check.
MAX_CATEGORIES = 50
#: How many failing values a failure shows.
EXAMPLES = 5


class SchemaFileError(ValueError):
    """A schema file that pandera cannot read; the message says which and how to fix it."""


@dataclass
class Failure:
    """One failed check of a frame."""

    column: str | None  # None for the frame as a whole (a missing or unexpected column)
    check: str
    rows: int  # how many rows fail it (0 when it is about the frame's columns)
    examples: list

    def describe(self) -> str:
        where = f"column `{self.column}`" if self.column is not None else "the frame"
        shown = ", ".join(repr(e) for e in self.examples[:EXAMPLES])
        rows = f", {self.rows} row{'s' if self.rows != 1 else ''} fail" if self.rows else ""
        return f"{where}: {self.check}{rows}" + (f" (e.g. {shown})" if shown else "")

    def to_dict(self) -> dict:
        return {"column": self.column, "check": self.check, "rows": self.rows,
                "examples": self.examples[:EXAMPLES]}


def infer(frame):
    """The baseline schema of ``frame`` (a DataFrame with text column names). A column that
    pandera cannot describe exactly (intervals, mixed objects, lists, values YAML cannot
    write…) is described loosely — required, any dtype, nullable — with a note saying why:
    a baseline never breaks a run."""
    import pandera.pandas as pa

    columns, refused, series_of = {}, {}, {}
    for name in frame.columns:
        series = series_of[str(name)] = frame[name]
        try:
            columns[str(name)] = _exact(series)
            refused.pop(str(name), None)
        except Exception as error:  # the values themselves refuse
            columns[str(name)] = None
            refused[str(name)] = (series, error)
    exact = {name: column for name, column in columns.items() if column is not None}
    try:  # every column at once (one YAML round trip per column took 4 ms each)
        _round_trip(pa.DataFrameSchema(exact))
    except Exception:  # then each, to know which pandera or YAML refuses
        for name, column in exact.items():
            try:
                _round_trip(pa.DataFrameSchema({name: column}))
            except Exception as error:
                refused[name] = (series_of[name], error)
    for name, (series, error) in refused.items():
        reason = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}" \
            if str(error) else type(error).__name__
        columns[name] = pa.Column(None, required=True, nullable=True, coerce=False,
                                  description=f"nb2pipe: described loosely (dtype "
                                              f"{getattr(series, 'dtype', 'mixed')}: "
                                              f"{reason})")
    return pa.DataFrameSchema(columns, strict=True, coerce=False, ordered=False)


def _exact(series):
    """A column's exact description: its dtype, nullability as observed, and the allowed
    values of a text, categorical or boolean column with few of them."""
    import pandera.pandas as pa

    from nb2pipe.validation.profile import is_category, is_number

    checks = []
    if not is_number(series) and is_category(series):
        values = series.dropna().unique()
        if 0 < len(values) <= MAX_CATEGORIES:
            plain = [_plain(v) for v in values]
            if not all(isinstance(v, (str, int, float, bool)) for v in plain):
                raise TypeError(f"values of type {type(plain[0]).__name__} cannot be listed")
            checks.append(pa.Check.isin(sorted(plain, key=lambda v: (type(v).__name__, v))))
    return pa.Column(series.dtype, checks=checks, required=True,
                     nullable=bool(series.isna().any()), coerce=False)


def _round_trip(schema) -> None:
    """Raise unless the schema writes to YAML and reads back (what a baseline file needs)."""
    import pandera.pandas as pa

    pa.DataFrameSchema.from_yaml(schema.to_yaml())


def _plain(value):
    """A value YAML can write and read back as itself (numpy scalars as Python ones)."""
    return value.item() if hasattr(value, "item") else value


def to_yaml(schema) -> str:
    return schema.to_yaml()


def from_yaml(text: str, path: str = "the schema"):
    """The schema in ``text``.

    Raises:
        SchemaFileError: the text is not a pandera schema.
    """
    import pandera.pandas as pa

    try:
        schema = pa.DataFrameSchema.from_yaml(text)
    except Exception as error:  # yaml, pandera and pydantic each raise their own
        first = (str(error).strip().splitlines() or [type(error).__name__])[0][:200]
        raise SchemaFileError(f"{path} is not a pandera schema ({first}); restore it from "
                              f"git, or accept a run's data as the new baseline with "
                              f"`nb2pipe baseline`") from None
    if not isinstance(schema, pa.DataFrameSchema):
        raise SchemaFileError(f"{path} is not a pandera DataFrame schema; restore it from git, "
                              f"or accept a run's data again with `nb2pipe baseline`")
    return schema


def validate(schema, frame) -> list[Failure]:
    """Every failure of ``frame`` against ``schema`` (pandera, ``lazy=True``)."""
    import pandera.errors

    try:
        schema.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as errors:
        return _failures(errors.failure_cases, frame)
    except pandera.errors.SchemaError as error:  # raised before the lazy collection starts
        return [Failure(None, str(error).splitlines()[0][:300], 0, [])]
    return []


def _failures(cases, frame=None) -> list[Failure]:
    grouped: dict[tuple, Failure] = {}
    for row in cases.to_dict("records"):
        column = row.get("column")
        column = None if column is None or column != column else str(column)
        check = str(row.get("check"))
        case = row.get("failure_case")
        if check == "column_in_dataframe":
            column, check, case = str(case), "is missing (the baseline has it)", None
        elif check == "column_in_schema":
            column, check, case = str(case), "is new (the baseline does not have it)", None
        elif check.startswith("dtype("):
            # the dtype apart, and the values that made it so as examples
            expected = check[len('dtype('):-1].strip(chr(39))
            actual = str(frame[column].dtype) if frame is not None and column is not None \
                and column in frame.columns else None
            if actual is not None:
                check = f"dtype {expected} expected, got {actual}"
                if str(case) == actual:
                    case = None
                elif isinstance(case, str) or not hasattr(case, "__len__"):
                    check += "; values that do not fit"
            else:
                check, case = f"dtype {expected} expected, got {case}", None
        elif check == "not_nullable":
            check = "has nulls (the baseline had none)"
            case = None
        elif check.startswith("isin("):
            check = "has values the baseline never had"
        key = (column, check)
        failure = grouped.setdefault(key, Failure(column, check, 0, []))
        index = row.get("index")
        if index is not None and index == index:
            failure.rows += 1
        if case is not None and case == case and len(failure.examples) < EXAMPLES and \
                _plain(case) not in failure.examples:
            failure.examples.append(_plain(case))
    return sorted(grouped.values(), key=lambda f: (f.column or "", f.check))
