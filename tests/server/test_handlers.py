"""The server extension through jupyter_server, as the panel calls it."""

import json
import shutil
from pathlib import Path

import pytest
import tornado

from nb2pipe.notebook import notebook_from_percent

SAMPLES = Path(__file__).resolve().parent.parent.parent / "sample_notebooks"


def notebook_json(source: str) -> dict:
    return notebook_from_percent(source).raw


async def post(jp_fetch, endpoint: str, body: dict):
    response = await jp_fetch("nb2pipe", endpoint, method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def test_check_returns_diagnostics_and_the_checklist(jp_fetch):
    level0 = json.loads((SAMPLES / "level0_classifier.ipynb").read_text())
    reply = await post(jp_fetch, "check", {"notebook": level0, "path": "level0.ipynb"})
    codes = {d["code"] for d in reply["diagnostics"]}
    assert {"NB101", "NB105", "NB202", "NB501"} <= codes
    first = next(d for d in reply["diagnostics"] if d["code"] == "NB105")
    assert first["cell"]["id"] == "level0-07" and first["location"]["row"] == 1
    assert reply["maturity"]["level"] == 0 and len(reply["maturity"]["items"]) == 6
    assert reply["fixable"] > 0


async def test_check_honours_the_selection_and_reports_bad_notebooks(jp_fetch):
    reply = await post(jp_fetch, "check", {"notebook": notebook_json("# %%\nprint(gone)\n"),
                                           "select": ["NB106"]})
    assert [d["code"] for d in reply["diagnostics"]] == ["NB106"]
    reply = await post(jp_fetch, "check", {"notebook": {"cells": 3}})
    assert reply["diagnostics"][0]["code"] == "NB901"


async def test_fix_returns_the_fixed_notebook_and_writes_nothing(jp_fetch, jp_root_dir):
    source = notebook_json("# %%\nimport numpy as np\n# %%\nx = np.random.rand(3)\n")
    reply = await post(jp_fetch, "fix", {"notebook": source, "codes": ["NB202", "NB303"]})
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in reply["notebook"]["cells"]]
    assert any("np.random.seed(SEED)" in s for s in sources)
    assert {d["code"] for d in reply["fixed"]} == {"NB202", "NB303"}
    assert list(Path(jp_root_dir).iterdir()) == []


async def test_a_fix_that_imports_mlflow_declares_it_beside_the_notebook(jp_fetch, jp_root_dir):
    """The panel's Fix of NB301 (unsafe): the notebook comes back with `import mlflow`, and
    the project's requirements file lists mlflow, as `check --fix` does; the reply says so."""
    root = Path(jp_root_dir)
    (root / "project").mkdir()
    (root / "project" / "requirements.txt").write_text("scikit-learn\n")
    path = root / "project" / "train.ipynb"
    raw = notebook_json("# %%\nfrom sklearn.linear_model import LogisticRegression\n"
                        "# %%\nmodel = LogisticRegression().fit([[0], [1]], [0, 1])\n")
    path.write_text(json.dumps(raw))
    reply = await post(jp_fetch, "fix", {"notebook": raw, "path": "project/train.ipynb",
                                         "codes": ["NB301", "NB205"], "unsafe": True})
    assert [d["code"] for d in reply["fixed"]] == ["NB301"]
    assert reply["declared"]["file"] == "project/requirements.txt"
    lines = (root / "project" / "requirements.txt").read_text().splitlines()
    assert lines[0] == "scikit-learn" and lines[1].startswith("mlflow==")
    assert not [d for d in reply["remaining"] if d["code"] == "NB205"]
    assert json.loads(path.read_text()) == raw  # the notebook itself: the client's to apply


async def test_fix_can_fix_the_one_finding_clicked(jp_fetch):
    source = notebook_json("# %%\nfrom sklearn.tree import DecisionTreeClassifier\n"
                           "a = DecisionTreeClassifier()\nb = DecisionTreeClassifier()\n")
    checked = await post(jp_fetch, "check", {"notebook": source, "select": ["NB203"]})
    second = checked["diagnostics"][1]
    only = {"cell": second["cell"]["index"], **second["location"]}
    reply = await post(jp_fetch, "fix", {"notebook": source, "codes": ["NB203"], "only": only})
    code = "".join("".join(c["source"]) for c in reply["notebook"]["cells"])
    assert "b = DecisionTreeClassifier(random_state=" in code
    assert "a = DecisionTreeClassifier()" in code  # the other finding is left as it was
    assert [d["location"]["row"] for d in reply["remaining"] if d["code"] == "NB203"] == \
        [checked["diagnostics"][0]["location"]["row"]]
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "fix", {"notebook": source, "codes": ["NB203"], "only": {"cell": 0}})
    assert raised.value.code == 400


async def test_convert_writes_the_pipeline_under_the_root(jp_fetch, jp_root_dir):
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", jp_root_dir)
    reply = await post(jp_fetch, "convert", {"path": "classifier_pipeline.ipynb"})
    assert reply["output"] == "classifier_pipeline-pipeline"
    assert "pipeline.json" in reply["files"] and reply["command"].startswith("nb2pipe run")
    assert [s["name"] for s in reply["steps"]][:2] == ["load_data", "split"]
    assert (Path(jp_root_dir) / "classifier_pipeline-pipeline" / "pipeline.json").exists()


async def test_convert_refuses_paths_outside_the_root(jp_fetch, jp_root_dir):
    for body in ({"path": "../../etc/passwd.ipynb"},
                 {"path": "classifier_pipeline.ipynb", "output": "../escape"}):
        shutil.copy(SAMPLES / "classifier_pipeline.ipynb", jp_root_dir)
        with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
            await post(jp_fetch, "convert", body)
        assert raised.value.code == 403


async def test_convert_never_replaces_the_root_or_a_folder_of_the_users(jp_fetch, jp_root_dir):
    """The defect of issue G: `output: "."` with a `pipeline.json` in the root deleted every
    notebook there."""
    root = Path(jp_root_dir)
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", root)
    (root / "pipeline.json").write_text("{}")
    (root / "other.ipynb").write_text("{}")
    mode = root.stat().st_mode
    for output in (".", "", "sub/..", "./"):
        with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
            await post(jp_fetch, "convert", {"path": "classifier_pipeline.ipynb",
                                             "output": output or "."})
        assert raised.value.code == 409
        assert "server's root" in json.loads(raised.value.response.body)["error"]["message"] \
            or "notebook's folder" in json.loads(raised.value.response.body)["error"]["message"]
    assert sorted(p.name for p in root.iterdir()) == [
        "classifier_pipeline.ipynb", "other.ipynb", "pipeline.json"]
    assert root.stat().st_mode == mode
    (root / "mine").mkdir()
    (root / "mine" / "pipeline.json").write_text("{}")
    (root / "mine" / "precious.txt").write_text("keep")
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "convert", {"path": "classifier_pipeline.ipynb", "output": "mine"})
    assert raised.value.code == 409
    assert sorted(p.name for p in (root / "mine").iterdir()) == ["pipeline.json",
                                                                  "precious.txt"]


async def test_convert_refuses_an_absolute_output_and_quotes_its_command(jp_fetch, jp_root_dir):
    root = Path(jp_root_dir)
    shutil.copy(SAMPLES / "classifier_pipeline.ipynb", root / "my notebook; touch X.ipynb")
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "convert", {"path": "my notebook; touch X.ipynb",
                                         "output": str(root / "abs")})
    assert raised.value.code == 400
    assert not (root / "abs").exists()
    reply = await post(jp_fetch, "convert", {"path": "my notebook; touch X.ipynb",
                                             "output": "./pipelines/../out dir"})
    assert reply["output"] == "out dir"
    assert reply["command"] == "nb2pipe run 'out dir'"
    reply = await post(jp_fetch, "convert", {"path": "my notebook; touch X.ipynb"})
    assert reply["command"] == "nb2pipe run 'my notebook; touch X-pipeline'"


async def test_convert_explains_a_notebook_that_is_not_a_pipeline(jp_fetch, jp_root_dir):
    (Path(jp_root_dir) / "bad.ipynb").write_text(json.dumps(notebook_json(
        '# %% tags=["skip"]\nx = 1\n# %% tags=["step:a"]\nprint(x)\n')))
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "convert", {"path": "bad.ipynb"})
    assert raised.value.code == 422
    reply = json.loads(raised.value.response.body)
    assert reply["diagnostics"][0]["code"] == "NB404"


async def test_rules_lists_every_rule(jp_fetch):
    response = await jp_fetch("nb2pipe", "rules")
    rules = json.loads(response.body)["rules"]
    assert {"NB105", "NB401", "NB501"} <= {r["code"] for r in rules}
    assert all(r["markdown"].startswith(f"# {r['code']}") for r in rules)


async def test_a_rule_page_is_served_offline_from_the_package(jp_fetch):
    page = json.loads((await jp_fetch("nb2pipe", "rules", "NB203")).body)
    assert page["markdown"].startswith("# NB203") and "random_state" in page["markdown"]
    assert page["url"].endswith("/rules/NB203/")
    from nb2pipe.lint.registry import RULES

    for code in RULES:  # every rule a finding can name has its page in JupyterLab
        page = json.loads((await jp_fetch("nb2pipe", "rules", code)).body)
        assert page["markdown"].startswith(f"# {code}"), code
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await jp_fetch("nb2pipe", "rules", "NB999")
    assert raised.value.code == 404
    assert "nb2pipe rule --all" in json.loads(raised.value.response.body)["message"]


async def test_findings_link_to_the_docs_url_of_the_notebooks_project(jp_fetch, jp_root_dir):
    project = Path(jp_root_dir) / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[tool.nb2pipe]\ndocs-url = "https://docs.example.org/nb2pipe/{code}.html"\n')
    source = notebook_json("# %%\nprint(gone)\n")
    reply = await post(jp_fetch, "check", {"notebook": source, "path": "project/a.ipynb",
                                           "select": ["NB106"]})
    assert reply["diagnostics"][0]["url"] == "https://docs.example.org/nb2pipe/NB106.html"
    # another notebook, outside that project: the default site again
    reply = await post(jp_fetch, "check", {"notebook": source, "path": "b.ipynb",
                                           "select": ["NB106"]})
    assert reply["diagnostics"][0]["url"].endswith("/rules/NB106/")


async def test_handlers_need_credentials(jp_fetch, jp_base_url, http_server_port):
    client = tornado.httpclient.AsyncHTTPClient()
    url = f"http://127.0.0.1:{http_server_port[-1]}{jp_base_url}nb2pipe/"
    for endpoint, method, body in (("check", "POST", "{}"), ("fix", "POST", "{}"),
                                   ("convert", "POST", "{}"), ("rules", "GET", None),
                                   ("rules/NB105", "GET", None), ("run", "POST", "{}"),
                                   ("run/stop", "POST", "{}"), ("runs", "POST", "{}")):
        response = await client.fetch(url + endpoint, method=method, body=body,
                                      raise_error=False, follow_redirects=False)
        assert response.code == 403, (endpoint, response.code)


async def test_bodies_are_bounded_and_must_be_json(jp_fetch):
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await jp_fetch("nb2pipe", "check", method="POST", body="not json")
    assert raised.value.code == 400


async def test_oversized_bodies_are_refused(jp_fetch, monkeypatch):
    from nb2pipe.server import handlers

    monkeypatch.setattr(handlers, "MAX_BODY", 100)
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "check", {"notebook": notebook_json("# %%\n" + "x = 1\n" * 50)})
    assert raised.value.code == 413


# -- never blocking, never a 500 (issue G) --------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20),
                  st.floats(allow_nan=False), st.text(max_size=30),
                  st.sampled_from(["a\x00b", "../../etc/passwd", "/abs.ipynb", "x" * 5000,
                                   "NB203", "ALL", "nb.ipynb", "~/x"]))
_json = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
_fields = st.fixed_dictionaries({}, optional={
    "notebook": _json, "path": _json, "output": _json, "select": _json, "ignore": _json,
    "extend_select": _json, "codes": _json, "unsafe": _json})
_bodies = st.one_of(_fields, _json)


def _generated(count: int) -> list:
    """``count`` request bodies drawn by hypothesis (which cannot drive an async test
    itself: it draws them here, the test posts them)."""
    drawn: list = []

    @settings(max_examples=count, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(body=_bodies, endpoint=st.sampled_from(["check", "fix", "convert"]))
    def draw(body, endpoint):
        drawn.append((endpoint, body))

    draw()
    return drawn


async def test_any_json_gets_a_4xx_with_one_line_never_a_500(jp_fetch):
    for endpoint, body in _generated(60):
        try:
            response = await jp_fetch("nb2pipe", endpoint, method="POST",
                                      body=json.dumps(body))
            code, text = response.code, response.body
        except tornado.httpclient.HTTPClientError as error:
            code, text = error.code, error.response.body
        assert code < 500, (endpoint, body, code, text[:300])
        if code >= 400:
            data = json.loads(text)
            message = data.get("message") or data["error"]["message"]
            assert message and "\n" not in message and "Traceback" not in message
            assert "object has no attribute" not in message and "unhashable" not in message


async def test_the_known_bad_bodies_get_a_clear_400(jp_fetch):
    for endpoint, body, expected in (
            ("check", {"select": [5]}, "`select` must be a list of rule codes"),
            ("check", {"notebook": {}, "path": "a\x00b.ipynb"}, "must not contain a NUL"),
            ("fix", {"notebook": notebook_json("# %%\nx = 1\n"), "codes": [[1]]},
             "`codes` must be a list of rule codes"),
            ("check", {"select": 5}, "`select` must be a list of rule codes")):
        with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
            await post(jp_fetch, endpoint, body)
        assert raised.value.code == 400, (endpoint, body)
        assert expected in json.loads(raised.value.response.body)["message"]


async def test_a_big_check_does_not_block_the_server(jp_fetch):
    """check, fix and convert run in worker processes: while a 60 MB notebook is checked,
    Jupyter's own API keeps answering at once."""
    import asyncio
    import time

    blob = "x" * (2 * 1024 * 1024)
    cells = "".join(f"# %%\nvalue_{n} = {n}\nprint(value_{n})\n" for n in range(30))
    notebook = notebook_json(cells)
    for cell in notebook["cells"]:
        cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": blob}]
    body = json.dumps({"notebook": notebook})
    assert len(body) > 60 * 1024 * 1024
    await jp_fetch("api", "status")  # the pool is warm after one small check
    await post(jp_fetch, "check", {"notebook": notebook_json("# %%\nx = 1\n")})
    checking = asyncio.ensure_future(jp_fetch("nb2pipe", "check", method="POST", body=body,
                                              request_timeout=300))
    times: list[float] = []
    await asyncio.sleep(0.05)
    while not checking.done():
        started = time.perf_counter()
        await jp_fetch("api", "status")
        times.append(time.perf_counter() - started)
        await asyncio.sleep(0.02)
    result = json.loads((await checking).body)
    assert "diagnostics" in result
    # the check took a while, and the server kept answering during it (a blocked loop would
    # answer once, after the check); the median, since a busy machine delays a reply or two
    assert len(times) >= 3, times
    typical = sorted(times)[len(times) // 2]
    assert typical < 0.2, f"/api/status took {typical:.3f} s (median) while the check ran"


async def _wait_for(jp_fetch, pipeline: str, done, timeout: float = 120) -> dict:
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while True:
        reply = await post(jp_fetch, "runs", {"pipeline": pipeline})
        if done(reply):
            return reply
        assert time.monotonic() < deadline, reply
        await asyncio.sleep(0.5)


async def test_a_run_started_from_jupyterlab_runs_in_the_background(jp_fetch, jp_root_dir):
    import time

    from tests.helpers import write_notebook

    write_notebook(Path(jp_root_dir) / "nb.ipynb",
                   '# %% tags=["pipeline-parameters"]\nN = 3\n'
                   '# %% tags=["step:count"]\nimport os\nimport time\n'
                   'if os.path.exists("slow.flag"):\n    time.sleep(60)\n'
                   'total = sum(range(N))\n'
                   '# %% tags=["pipeline-metrics"]\ntotal\n')
    await post(jp_fetch, "convert", {"path": "nb.ipynb"})
    started = time.monotonic()
    reply = await post(jp_fetch, "run", {"pipeline": "nb-pipeline", "parameters": {"N": "5"},
                                         "tracking": "none"})
    assert time.monotonic() - started < 2  # the server answers at once; the run goes on
    assert reply["active"]["pid"]
    reply = await _wait_for(jp_fetch, "nb-pipeline",
                            lambda r: r["runs"] and r["runs"][0]["status"] != "running"
                            and not r["active"])
    run = reply["runs"][0]
    assert run["status"] == "succeeded" and run["metrics"] == {"total": 10}
    assert "pipeline.json" in reply["files"] and "kfp/pipeline.yaml" in reply["files"]
    assert run["parameters"]["N"] == 5
    assert run["steps"]["count"]["notebook"].startswith("nb-pipeline/runs/")

    # one run per pipeline at a time; stop interrupts it (as Ctrl-C), and it can be resumed
    (Path(jp_root_dir) / "slow.flag").write_text("")
    await post(jp_fetch, "run", {"pipeline": "nb-pipeline", "tracking": "none"})
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "run", {"pipeline": "nb-pipeline", "tracking": "none"})
    assert raised.value.code == 409
    await _wait_for(jp_fetch, "nb-pipeline",
                    lambda r: r["runs"] and r["runs"][0]["status"] == "running" and
                    r["runs"][0]["steps"]["count"]["status"] == "running" and
                    r["runs"][0]["steps"]["count"].get("cell") == 2)  # the cell running
    await post(jp_fetch, "run/stop", {"pipeline": "nb-pipeline"})
    reply = await _wait_for(jp_fetch, "nb-pipeline", lambda r: not r["active"])
    stopped = reply["runs"][0]
    assert stopped["status"] == "interrupted", stopped["status"]
    assert "go on with:" in reply["output"]
    (Path(jp_root_dir) / "slow.flag").unlink()
    await post(jp_fetch, "run", {"pipeline": "nb-pipeline", "resume": stopped["run_id"],
                                 "tracking": "none"})
    reply = await _wait_for(jp_fetch, "nb-pipeline", lambda r: not r["active"])
    resumed = next(r for r in reply["runs"] if r["run_id"] == stopped["run_id"])
    assert resumed["status"] == "succeeded" and resumed["metrics"] == {"total": 3}


async def test_a_run_started_with_sigint_ignored_still_stops_at_once(jp_fetch, jp_root_dir):
    """A server started in the background (`nohup jupyter lab &`) passes an ignored SIGINT to
    the runs it starts: `nb2pipe run` takes it back, so Stop interrupts at the first signal
    (recorded as interrupted, resumable; the step that ran is interrupted, not failed)."""
    import signal

    from tests.helpers import write_notebook

    write_notebook(Path(jp_root_dir) / "nb.ipynb",
                   '# %% tags=["step:wait"]\nimport time\nfor _ in range(600):\n'
                   '    time.sleep(0.1)\n'
                   '# %% tags=["step:after"]\nx = 1\n')
    await post(jp_fetch, "convert", {"path": "nb.ipynb"})
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # as under nohup
    try:
        reply = await post(jp_fetch, "run", {"pipeline": "nb-pipeline", "tracking": "none"})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert not reply["active"]["command"].startswith("/"), reply["active"]["command"]
    await _wait_for(jp_fetch, "nb-pipeline",
                    lambda r: r["runs"] and r["runs"][0]["steps"]["wait"]["status"] == "running")
    await post(jp_fetch, "run/stop", {"pipeline": "nb-pipeline"})
    reply = await _wait_for(jp_fetch, "nb-pipeline", lambda r: not r["active"], timeout=60)
    assert [s["signal"] for s in reply["last"]["signals"]] == ["SIGINT"]
    stopped = reply["runs"][0]
    assert stopped["status"] == "interrupted", stopped
    assert stopped["steps"]["wait"]["status"] == "interrupted"
    assert stopped["steps"]["after"]["status"] in ("pending", "interrupted")


async def test_stop_escalates_when_a_run_process_will_not_stop(jp_fetch, jp_root_dir,
                                                              monkeypatch):
    """A run process that ignores SIGINT (stuck in a library's C code, say) gets SIGTERM
    after the grace period, and the reply says which signals went (issue P, point 6). The
    stubborn process is a real one: Python ignoring SIGINT and SIGTERM's default kept."""
    import subprocess
    import sys

    from nb2pipe.server import runs as server_runs
    from tests.helpers import write_notebook

    monkeypatch.setattr(server_runs, "GRACE", 1.0)
    write_notebook(Path(jp_root_dir) / "nb.ipynb", '# %% tags=["step:a"]\nx = 1\n')
    await post(jp_fetch, "convert", {"path": "nb.ipynb"})
    stubborn = subprocess.Popen([sys.executable, "-c", "import signal, time\n"
                                 "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                 "print('ready', flush=True)\ntime.sleep(120)\n"],
                                start_new_session=True, stdout=subprocess.PIPE, text=True)
    assert stubborn.stdout.readline().strip() == "ready"  # it ignores SIGINT from here on
    server_runs._children[stubborn.pid] = stubborn
    lab = Path(jp_root_dir) / "nb-pipeline" / "runs" / ".lab"
    lab.mkdir(parents=True, exist_ok=True)
    (lab / "active.json").write_text(json.dumps({"pid": stubborn.pid, "job": "j",
                                                 "started": "2026-12-06T00:00:00+00:00",
                                                 "command": "nb2pipe run nb-pipeline",
                                                 "log": "nb-pipeline/runs/.lab/j.log"}))
    await post(jp_fetch, "run/stop", {"pipeline": "nb-pipeline"})
    reply = await _wait_for(jp_fetch, "nb-pipeline", lambda r: not r["active"], timeout=30)
    assert [s["signal"] for s in reply["last"]["signals"]] == ["SIGINT", "SIGTERM"]
    assert stubborn.wait(5) == -15  # ended by SIGTERM


async def test_tag_steps_that_cannot_says_what_is_in_the_way(jp_fetch):
    """'Tag steps' (NB406's fix) on a notebook --auto refuses is a 422 naming the cells and
    what to do, never a silent 200 with nothing fixed (issue P, point 3)."""
    level0 = json.loads((SAMPLES / "level0_classifier.ipynb").read_text())
    with pytest.raises(tornado.httpclient.HTTPClientError) as raised:
        await post(jp_fetch, "fix", {"notebook": level0, "path": "level0.ipynb",
                                     "codes": ["NB406"], "unsafe": True})
    assert raised.value.code == 422
    message = json.loads(raised.value.response.body)["message"]
    assert message.startswith("cannot tag the steps: cell 7, line 1: uses `train_test_split`")


async def test_a_notebook_nb2pipe_generated_gets_no_findings_and_says_so(jp_fetch, jp_root_dir):
    """The step notebooks convert writes (and runs execute) are not the user's to lint or
    convert: the reply names their pipeline and step (issue P, point 7)."""
    from tests.helpers import write_notebook

    write_notebook(Path(jp_root_dir) / "nb.ipynb",
                   '# %% tags=["step:make"]\nx = 1\n# %% tags=["step:show"]\nprint(x)\n')
    await post(jp_fetch, "convert", {"path": "nb.ipynb"})
    step = json.loads((Path(jp_root_dir) / "nb-pipeline" / "papermill" / "show.ipynb")
                      .read_text())
    reply = await post(jp_fetch, "check", {"notebook": step,
                                           "path": "nb-pipeline/papermill/show.ipynb"})
    assert reply["diagnostics"] == [] and reply["generated"] == {"pipeline": "nb",
                                                                 "step": "show"}
