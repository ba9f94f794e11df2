"""Generated pipelines, each rendered as an Airflow DAG and read by Airflow's own DagBag:
run in Airflow's Python (.cache/airflow) by test_airflow.py. Step names of every shape the
tag grammar allows (``start``, ``task``, ``dag``, ``os``, ``1st``, keywords), parameters of
every literal a notebook can hold (tuples, sets, ``None``, infinities, quotes, backslashes),
odd notebook paths, the schedules convert accepts: the DAG always parses, with one task per step, the
pipeline's dependencies, and params that give the notebook's values back."""

import json
import os
import sys
import tempfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nb2pipe.pipeline.literals import parse_literal, plain_json
from nb2pipe.pipeline.model import Parameter, Pipeline, Step
from nb2pipe.targets.airflow import render_dag, schedule_problem

RESERVED = ["start", "finish", "start_run", "task", "dag", "os", "path", "run", "param",
            "pipeline", "work", "context", "class", "import", "lambda", "none", "true",
            "1st", "_", "asset"]
step_names = st.one_of(st.sampled_from(RESERVED), st.from_regex(r"[a-z0-9_]{1,10}",
                                                                  fullmatch=True))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=False), st.text(max_size=12),
                    st.binary(max_size=4), st.complex_numbers(allow_nan=False))
literals = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.tuples(inner, inner),
    st.dictionaries(st.text(max_size=4), inner, max_size=2),
    st.frozensets(st.integers(0, 9), max_size=3).map(set)), max_leaves=6)
identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)


@st.composite
def pipelines(draw):
    names = draw(st.lists(step_names, min_size=1, max_size=5, unique=True))
    steps = []
    for index, name in enumerate(names):
        after = draw(st.lists(st.sampled_from(names[:index]), unique=True)) if index else []
        steps.append(Step(name=name, cells=[index + 1], after=after))
    parameter_names = draw(st.lists(identifiers, max_size=4, unique=True))
    parameters = [Parameter(name=n, type="literal", default=draw(literals), cell=0)
                  for n in parameter_names]
    name = draw(st.text(min_size=1, max_size=20))
    notebook = draw(st.text(min_size=1, max_size=20)) + ".ipynb"
    return Pipeline(name=name, notebook=notebook, source_hash="", parameters=parameters,
                    steps=steps, edges=[], artifacts=[], imports=[], functions=[])


FOLDER = tempfile.mkdtemp()
SEEN = []


schedules = st.one_of(st.none(), st.text(max_size=12), st.sampled_from(
    ["@daily", "@hourly", "@once", "@yearly", "0 3 * * *", "*/5 * * * *", "0 0 1 JAN *",
     "0 3 * * MON-FRI", "99 * * * *", "@sometimes", "* * *"]))


@settings(max_examples=int(os.environ.get("CASES", "30")), deadline=None, database=None,
          derandomize=True, suppress_health_check=list(HealthCheck))
@given(pipelines(), schedules)
def check(pipeline, schedule):
    from airflow.dag_processing.dagbag import DagBag

    if schedule is not None and schedule_problem(schedule):
        return  # convert refuses it with that message (test_airflow.py)
    path = os.path.join(FOLDER, f"case{len(SEEN)}.py")
    SEEN.append(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(render_dag(pipeline, schedule))
    compile(open(path, encoding="utf-8").read(), path, "exec")  # a SyntaxError says where
    bag = DagBag(dag_folder=path)
    errors = {k: str(v) for k, v in bag.import_errors.items()}
    assert not errors, errors
    (dag,) = bag.dags.values()
    steps = {s.name: s for s in pipeline.steps}
    tasks = {t.task_id: t for t in dag.tasks}
    assert len(tasks) == len(steps) + 2, sorted(tasks)
    bookkeeping = sorted(set(tasks) - set(steps))
    start = next(t for t in bookkeeping if tasks[t].upstream_task_ids == set())
    for name, step in steps.items():
        assert tasks[name].upstream_task_ids == {start, *step.after}, (name, step.after)
    for parameter in pipeline.parameters:
        given_back = dag.params[parameter.name]
        if not plain_json(parameter.default):
            given_back = parse_literal(given_back)
        assert given_back == parameter.default or given_back != given_back, \
            (parameter.default, given_back)
        assert type(given_back) is type(parameter.default), (parameter.default, given_back)


if __name__ == "__main__":
    check()
    print(json.dumps({"cases": len(SEEN)}))
    sys.exit(0)
