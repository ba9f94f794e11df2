"""The outline the panel draws (each cell's step chip, the live DAG) says what convert builds."""

from hypothesis import given, settings
from hypothesis import strategies as st

from nb2pipe.analysis.notebook import NotebookAnalysis
from nb2pipe.lint.rules._pipeline import pipeline_build
from nb2pipe.notebook import notebook_from_percent
from nb2pipe.pipeline.build import build_pipeline
from nb2pipe.pipeline.outline import outline


def outline_of(source):
    notebook = notebook_from_percent(source)
    return outline(notebook, pipeline_build(notebook, NotebookAnalysis(notebook)))


def test_an_untagged_notebook_has_no_outline():
    assert outline_of("# %%\nx = 1\n# %%\nprint(x)\n") is None


def test_cells_join_the_step_above_and_the_metrics_cells_the_metrics_step():
    found = outline_of('''# %%
print("before any tag")
# %% tags=["imports"]
import math
# %% tags=["step:load"]
x = 1
# %%
x = x + math.pi
# %% tags=["step:train"]
y = x * 2
# %% tags=["skip"]
print(y)
# %%
print("still skipped")
# %% tags=["metrics"]
score = y
''')
    places = [(c["role"], c["step"], c["own"]) for c in found["cells"]]
    assert places == [(None, None, False), ("imports", None, True), ("step", "load", True),
                      ("step", "load", False), ("step", "train", True), ("skip", None, True),
                      ("skip", None, False), ("metrics", "metrics", True)]
    assert [(s["name"], s["colour"]) for s in found["steps"]] == [
        ("load", 0), ("train", 1), ("metrics", 2)]
    assert found["complete"]
    assert {(e["source"], e["target"]) for e in found["edges"]} == {
        ("load", "train"), ("train", "metrics")}


def test_a_notebook_that_does_not_build_still_shows_its_steps_and_prev_edges():
    found = outline_of('''# %% tags=["step:load"]
x = 1
# %% tags=["step:train", "prev:load"]
y = undefined_name
# %% tags=["step:Bad Name"]
z = 2
''')
    assert not found["complete"]
    assert [s["name"] for s in found["steps"]] == ["load", "train", "Bad Name"]
    assert found["edges"] == [{"source": "load", "target": "train", "kind": "order"}]


def test_metrics_cells_above_the_step_they_read_are_drawn_after_it():
    found = outline_of('''# %% tags=["step:load"]
x = 0
# %% tags=["metrics"]
seen = 0
# %% tags=["step:train"]
y = x + 1
# %% tags=["metrics"]
score = y
''')
    assert found["complete"]
    assert [(s["name"], s["colour"]) for s in found["steps"]] == [
        ("load", 0), ("train", 1), ("metrics", 2)]
    assert "train" in found["steps"][2]["after"]


@st.composite
def tag_layouts(draw):
    """Notebooks whose cells carry any mix of role tags, step tags (repeated names too),
    `prev:` tags, and no tag at all; every cell reads what the cells above define."""
    cells = []
    defined: list[str] = []
    steps: list[str] = []
    for number in range(draw(st.integers(1, 9))):
        kind = draw(st.sampled_from(["step", "step", "again", "none", "none", "imports",
                                     "functions", "skip", "metrics"]))
        tags: list[str] = []
        if kind == "step" or (kind == "again" and not steps):
            steps.append(f"s{number}")
            tags.append(f"step:s{number}")
            if len(steps) > 1 and draw(st.booleans()):
                tags.append(f"prev:{draw(st.sampled_from(steps[:-1]))}")
        elif kind == "again":
            tags.append(f"step:{draw(st.sampled_from(steps))}")
        elif kind != "none":
            tags.append(kind)
        reads = draw(st.lists(st.sampled_from(defined), max_size=2)) if defined else []
        if kind == "imports":
            body = f"import math as m{number}"
        elif kind == "functions":
            body = f"def f{number}(x):\n    return x"
        else:
            body = f"v{number} = {' + '.join(reads) or '0'}"
        defined.append(f"m{number}" if kind == "imports" else
                       f"f{number}" if kind == "functions" else f"v{number}")
        cells.append(f"# %% tags={tags!r}\n{body}\n".replace("'", '"'))
    return "".join(cells)


@settings(max_examples=200, deadline=None)
@given(tag_layouts())
def test_the_outline_puts_each_cell_where_convert_puts_it(source):
    notebook = notebook_from_percent(source)
    found = outline(notebook, pipeline_build(notebook, NotebookAnalysis(notebook)))
    pipeline, _ = build_pipeline(notebook_from_percent(source))
    if found is None:
        assert pipeline is None
        return
    in_step: dict[str, list[int]] = {}
    for cell in found["cells"]:
        if cell["step"]:
            in_step.setdefault(cell["step"], []).append(cell["index"])
    # colours: one per step, in the order the notebook names them
    assert [s["colour"] for s in found["steps"]] == list(range(len(found["steps"])))
    if pipeline is None:
        assert not found["complete"]
        assert [s["name"] for s in found["steps"]] == list(in_step)
        return
    assert found["complete"]
    # each step after those it runs after; in the notebook's order (the chips' colours)
    # whenever that order is one the DAG can draw
    names = [s["name"] for s in found["steps"]]
    assert sorted(names) == sorted(in_step)
    for position, drawn_step in enumerate(found["steps"]):
        assert set(drawn_step["after"]) <= set(names[:position])
    after = {s["name"]: set(s["after"]) for s in found["steps"]}
    if all(after[name] <= set(list(in_step)[:at]) for at, name in enumerate(in_step)):
        assert names == list(in_step)
    assert {s["name"] for s in found["steps"]} == set(pipeline.step_names)
    for step in pipeline.steps:
        assert in_step[step.name] == step.cells, step.name
        drawn = next(s for s in found["steps"] if s["name"] == step.name)
        assert drawn["after"] == step.after
    assert sorted((e["source"], e["target"]) for e in found["edges"]) == sorted(
        (e.source, e.target) for e in pipeline.edges)
    # the pipeline view colours each step as the chips of its cells
    from nb2pipe.server.work import pipeline_summary

    assert {s["name"]: s["colour"] for s in pipeline_summary(pipeline, "out")["steps"]} == \
        {s["name"]: s["colour"] for s in found["steps"]}
    roles = {"imports": pipeline.imports, "functions": pipeline.functions}
    for role, indices in roles.items():
        assert [c["index"] for c in found["cells"] if c["role"] == role] == indices
