"""Building the pipeline model from tags and dataflow: edges, parameters, and the errors."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nb2pipe.notebook import notebook_from_percent
from nb2pipe.pipeline.build import build_pipeline
from nb2pipe.pipeline.tags import parse_tags


def build(source):
    return build_pipeline(notebook_from_percent(source))


def codes(source):
    return sorted(d.code for d in build(source)[1])


KALE = '''# %% tags=["imports"]
import math
# %% tags=["pipeline-parameters"]
RATE = 0.5
N = 3
# %% tags=["functions"]
def scale(x):
    return x * RATE
# %% tags=["step:load"]
data = list(range(N))
# %%
data = [d + 1 for d in data]
# %% tags=["step:left", "prev:load"]
left = [scale(d) for d in data]
# %% tags=["step:right", "prev:load"]
right = sum(data)
# %% tags=["skip"]
print("exploration only")
# %% tags=["step:join"]
total = sum(left) + right + math.pi
# %% tags=["step:report", "prev:load"]
print("done")
# %% tags=["pipeline-metrics"]
total
'''


def test_kale_notebook_builds_with_data_and_order_edges():
    pipeline, problems = build(KALE)
    assert problems == []
    assert pipeline.step_names == ["load", "left", "right", "join", "report", "metrics"]
    load = pipeline.step("load")
    assert load.cells == [3, 4] and load.outputs == ["data"] and load.parameters == ["N"]
    assert pipeline.step("left").inputs == {"data": "load"}
    assert pipeline.step("left").parameters == ["RATE"]  # through scale()
    assert pipeline.step("join").inputs == {"left": "left", "right": "right"}
    assert pipeline.step("join").after == ["left", "right"]
    edges = {(e.source, e.target, e.kind) for e in pipeline.edges}
    assert ("load", "report", "order") in edges and ("left", "join", "data") in edges
    assert ("left", "right", "data") not in edges  # independent steps stay parallel
    assert [(p.name, p.type, p.default) for p in pipeline.parameters] == [
        ("RATE", "float", 0.5), ("N", "int", 3)]
    assert pipeline.metrics == ["total"]


def test_nearest_earlier_producer_and_mutation():
    pipeline, problems = build('# %% tags=["step:a"]\ndf = {}\n# %% tags=["step:b"]\n'
                               'df["x"] = 1\n# %% tags=["step:c"]\nprint(df)\n')
    assert problems == []
    assert pipeline.step("b").inputs == {"df": "a"} and pipeline.step("b").outputs == ["df"]
    assert pipeline.step("c").inputs == {"df": "b"}


def test_errors_name_step_cell_and_variable():
    pipeline, problems = build('# %% tags=["skip"]\nscaler = 1\n# %% tags=["step:train"]\n'
                               'model = scaler + undefined_thing\n')
    assert pipeline is None
    messages = {(d.code, d.cell, d.message) for d in problems}
    assert ("NB404", 1, "step `train` needs `scaler`, which only a `skip` cell defines "
                        "(cell 1)") in messages
    assert ("NB106", 1, "step `train` needs `undefined_thing`, which no cell defines") in messages


def test_bad_tags():
    assert codes('# %% tags=["step:a", "prev:a"]\nx = 1\n') == ["NB401"]
    assert codes('# %% tags=["step:a"]\nx = 1\n# %% tags=["step:b", "prev:c"]\ny = 1\n'
                 '# %% tags=["step:c"]\nz = 1\n') == ["NB401"]
    assert codes('# %% tags=["step:a", "step:b"]\nx = 1\n') == ["NB401"]
    assert codes('# %% tags=["step:a"]\n\n# %% tags=["step:b"]\nx = 1\n') == ["NB401"]
    assert codes('# %%\nx = 1\n') == ["NB401"]  # no step at all
    assert codes('# %% tags=["pipeline-parameters"]\nX = f()\n# %% tags=["step:a"]\nprint(X)\n') \
        == ["NB106", "NB405"]


def test_a_bad_step_name_is_one_problem_not_a_cascade():
    """The cells of a badly named step stay that step's: no errors about the parameters
    cell swallowing them, or about `prev:` naming a step that "does not exist"."""
    found = build('# %% tags=["pipeline-parameters"]\nN = 3\n'
                  '# %% tags=["step:import"]\nimport json\ndata = [N]\n'
                  '# %% tags=["step:save", "prev:import"]\nout = json.dumps(data)\n'
                  '# %% tags=["step:données"]\nz = len(out)\n')[1]
    assert [(d.code, d.cell) for d in found] == [("NB401", 1), ("NB401", 3)]
    assert "rename the step, e.g. `step:import_step`" in found[0].help
    assert "e.g. `step:donnees`" in found[1].help


def test_prev_cycle_is_reported():
    found = build('# %% tags=["step:a"]\nx = 1\n# %% tags=["step:b", "prev:a"]\ny = 1\n'
                  '# %% tags=["step:a", "prev:b"]\nz = 1\n')[1]
    assert any("cycle" in d.message for d in found)


def test_unordered_producers_and_unserializable_values():
    assert codes('# %% tags=["step:a"]\ndf = 1\n# %% tags=["step:b"]\ndf = 2\n'
                 '# %% tags=["step:c"]\nprint(df)\n') == ["NB402"]
    assert codes('# %% tags=["step:a"]\nh = open("x")\n# %% tags=["step:b"]\nprint(h)\n') \
        == ["NB403"]


def test_tag_settings():
    tags = parse_tags(["step:train", "limit:memory:4Gi", "image:python:3.11", "retry:3",
                       "cache:disabled", "label:team:ml", "secret:db:password:DB_PASSWORD"])
    assert tags.step == "train" and not tags.problems
    assert tags.settings == {"limits": {"memory": "4Gi"}, "image": "python:3.11", "retry": 3,
                             "cache": False, "labels": {"team": "ml"},
                             "secrets": [{"secret": "db", "key": "password",
                                          "env": "DB_PASSWORD"}]}
    assert parse_tags(["secret:db:password:1BAD"]).problems
    assert parse_tags(["block:legacy"]).step == "legacy"  # Kale's older spelling
    assert "sub-pipeline tag" in parse_tags(["notebook:prepare"]).problems[0].message


# -- invariants on generated multi-step notebooks ------------------------------------------

@st.composite
def tagged_notebooks(draw):
    steps = draw(st.integers(1, 6))
    parameters = draw(st.lists(st.sampled_from(["P", "Q", "R"]), unique=True, max_size=3))
    cells = ['# %% tags=["pipeline-parameters"]\n' + "".join(f"{p} = {n}\n"
                                                          for n, p in enumerate(parameters))]
    available = list(parameters)
    for number in range(steps):
        reads = draw(st.lists(st.sampled_from(available), max_size=3)) if available else []
        name = f"v{number}"
        tags = [f"step:s{number}"]
        if number and draw(st.booleans()):
            tags.append(f"prev:s{draw(st.integers(0, number - 1))}")
        expression = " + ".join(reads) or "0"
        extra = draw(st.sampled_from(["", f"\nextra{number} = [{name}]",
                                      f"\ndef f{number}(x):\n    return x + {expression}"]))
        cells.append(f"# %% tags={tags!r}\n{name} = {expression}{extra}\n".replace("'", '"'))
        available.append(name)
    return "".join(cells)


@settings(max_examples=150, deadline=None)
@given(tagged_notebooks())
def test_every_step_consumes_only_parameters_and_what_earlier_steps_produce(source):
    pipeline, problems = build(source)
    assert problems == [] and pipeline is not None
    order = pipeline.step_names
    names = {p.name for p in pipeline.parameters}
    for position, step in enumerate(pipeline.steps):
        assert set(step.parameters) <= names
        for name, producer in step.inputs.items():
            assert order.index(producer) < position
            assert name in pipeline.step(producer).outputs
            assert producer in step.after
    again, _ = build(source)
    assert again.to_json() == pipeline.to_json()


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(tagged_notebooks())
def test_converting_twice_gives_identical_files(source):
    from nb2pipe.convert import render

    first = render(notebook_from_percent(source)).files
    second = render(notebook_from_percent(source)).files
    assert first == second
    for name, text in first.items():
        if name.endswith(".py"):
            compile(text, name, "exec")  # every generated module is valid Python


def test_a_name_that_shadows_a_builtin_is_passed_like_any_value():
    """`list = [9]` in a step (or the parameters) makes `list` the notebook's value from
    there on; before that, `list` is the builtin and nothing is passed."""
    pipeline, problems = build('''# %% tags=["pipeline-parameters"]
input = "data.csv"
# %% tags=["step:a"]
x = list(range(3))
# %% tags=["step:b", "prev:a"]
list = [9]
y = list + x
# %% tags=["step:c", "prev:b"]
z = sum(list) + len(input)
''')
    assert [d.code for d in problems] == []
    steps = {s.name: s for s in pipeline.steps}
    assert steps["a"].inputs == {} and steps["a"].parameters == []
    assert steps["c"].inputs == {"list": "b"} and steps["c"].parameters == ["input"]
