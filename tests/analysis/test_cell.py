"""Per-cell scope analysis: what a cell binds, what it needs from before, what it mutates."""

import ast

import pytest

from nb2pipe.analysis import analyse_cell


def facts(source):
    return analyse_cell(ast.parse(source))


@pytest.mark.parametrize("source,binds,needs", [
    ("x = y + 1", {"x"}, {"y"}),
    ("x += 1", {"x"}, {"x"}),
    ("x: int = 5\ny: int", {"x"}, {"int"}),
    ("for i, (j, *k) in pairs:\n    total = i", {"i", "j", "k", "total"}, {"pairs"}),
    ("with open(p) as fh, lock as (a, b):\n    pass", {"fh", "a", "b"}, {"open", "p", "lock"}),
    ("try:\n    pass\nexcept ValueError as err:\n    print(err)", set(), {"ValueError", "print"}),
    ("import os.path, numpy as np\nfrom sklearn import svm as s", {"os", "np", "s"}, set()),
    ("if (n := len(xs)) > 3:\n    print(n)", {"n"}, {"len", "xs", "print"}),
    ("first, *rest = items", {"first", "rest"}, {"items"}),
    ("squares = [v * v for v in values if v > limit]", {"squares"}, {"values", "limit"}),
    ("pairs = {k: v for k, v in d.items()}", {"pairs"}, {"d"}),
    ("gen = (a for a in range(3) for b in range(a))", {"gen"}, {"range"}),
    ("del old", set(), {"old"}),
    ("df['x'] = df['y'] * 2", set(), {"df"}),
    ("model.coef_ = None", set(), {"model"}),
    ("f = lambda a, b=default: a + b + glob", {"f"}, {"default"}),
    ("total = sum(map(lambda r: r * rate, rows))", {"total"}, {"sum", "map", "rate", "rows"}),
    ("x = 1\nprint(x)", {"x"}, {"print"}),
    ("print(x)\nx = 1", {"x"}, {"print", "x"}),
    ("for i in range(3):\n    if i:\n        print(prev)\n    prev = i", {"i", "prev"},
     {"range", "print"}),
    ("match cmd:\n    case [name, *args]:\n        pass\n    case {'k': v, **rest}:\n"
     "        pass\n    case Point(x=px) as whole:\n        pass",
     {"name", "args", "v", "rest", "px", "whole"}, {"cmd", "Point"}),
    ("class A(Base):\n    size = 3\n    double = size * 2\n    def m(self):\n"
     "        return size", {"A"}, {"Base"}),
])
def test_binds_and_needs(source, binds, needs):
    result = facts(source)
    assert set(result.binds) == binds
    assert result.needs == needs


def test_function_bodies_are_deferred_not_read_at_definition():
    result = facts("def train(X, y=default_y):\n    global trained\n    trained = True\n"
                   "    helper = make()\n    return model.fit(X, y) + helper\n")
    assert result.needs == {"default_y"}  # defaults are evaluated now
    deferred = result.deferred["train"]
    assert {r.name for r in deferred.free} == {"make", "model"}
    assert deferred.global_binds == {"trained"}


def test_closures_resolve_to_the_enclosing_function():
    result = facts("def outer():\n    k = 1\n    def inner():\n        nonlocal k\n"
                   "        return k + far\n    return inner\n")
    assert {r.name for r in result.deferred["outer"].free} == {"far"}


def test_class_methods_see_globals_not_class_attributes():
    result = facts("class Model:\n    rate = 0.1\n    def __init__(self):\n"
                   "        self.w = init_weights()\n    def step(self):\n"
                   "        return rate\n")
    deferred = result.deferred["Model"]
    assert {r.name for r in deferred.on_call} == {"init_weights"}
    assert {r.name for r in deferred.free} == {"init_weights", "rate"}


def test_mutations_through_attributes_subscripts_and_methods():
    result = facts("df['a'] = 1\nmodel.fit(X, y)\nitems.append(3)\nframe.drop('a', inplace=True)\n"
                   "config.x += 1\ndel cache['k']\nclean = df.dropna()\n")
    assert set(result.mutated) == {"df", "model", "items", "frame", "config", "cache"}


def test_comprehension_variables_do_not_leak_and_walrus_does():
    result = facts("vals = [y := f(v) for v in data]\n")
    assert set(result.binds) == {"vals", "y"}
    assert "v" not in result.binds and result.needs == {"f", "data"}


def test_calls_and_strings_are_collected_once():
    result = facts('import numpy as np\nnp.random.seed(1)\npath = "/home/a/b"\n'
                   'def f():\n    """Doc."""\n    return g(key="v")\n')
    assert [c.dotted for c in result.calls] == ["np.random.seed", "g"]
    strings = {(s.value, s.context, s.docstring) for s in result.strings}
    assert strings == {("/home/a/b", "path", False), ("Doc.", None, True), ("v", "key", False)}


EVERY_BINDING = '''
def f(p, *rest, key=1, **extra):
    a = b = 1
    c, (d, *e) = pair
    f_ += 1
    g: int
    h: int = 2
    obj.attr = 3
    items[i] = 4
    del gone
    for i, j in zip(x, y):
        k = i
    else:
        m = 0
    while cond:
        n = 1
    if test:
        o = 1
    else:
        q = 2
    with open(p) as r, lock:
        s = r.read()
    try:
        t = 1
    except ValueError as u:
        v = 2
    else:
        w = 3
    finally:
        z = 4
    match command:
        case [first, *others]:
            aa = first
        case {"key": value, **remaining}:
            bb = value
        case Point(x=px) | Point(y=px):
            cc = px
    import os.path
    import numpy as np
    from math import pi, tau as turn
    from shapes import *
    global shared
    nonlocal_free = [w for w in words]
    def inner():
        nonlocal a
    class Model:
        field = 1
    lambda late: late
    return locals()
'''


def test_functions_without_walrus_get_the_same_locals_from_their_statements_alone():
    from nb2pipe.analysis.scopes import local_names, statement_locals

    function = ast.parse(EVERY_BINDING).body[0]
    expected = local_names(function.body)
    assert "u" in expected[0] and "remaining" in expected[0] and "shared" in expected[1]
    assert statement_locals(function.body) == expected
    # With `:=` in the source the full walk is used: it sees bindings inside expressions.
    facts = analyse_cell(ast.parse("def f():\n    print(n := 1)\n    return n\n"),
                         source="def f():\n    print(n := 1)\n    return n\n")
    assert "n" not in {read.name for read in facts.deferred["f"].free}
