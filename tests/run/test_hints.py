"""What `nb2pipe run` tells a user who stops a run or sees one fail: the run id and a command
that works as printed, shell-quoted, right for the engine (issue H)."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

from tests.helpers import run_cli, write_notebook

SLOW = '''# %% tags=["imports"]
import os
import time
# %% tags=["pipeline-parameters"]
N = 3
# %% tags=["step:first"]
values = list(range(N))
# %% tags=["step:slow", "prev:first"]
if os.path.exists("slow.flag"):
    time.sleep(120)
total = sum(values)
# %% tags=["pipeline-metrics"]
print(total)
'''


def test_ctrl_c_names_the_run_and_a_resume_command_that_works(tmp_path):
    write_notebook(tmp_path / "nb.ipynb", SLOW)
    (tmp_path / "slow.flag").write_text("")
    assert run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "my pipeline")[0] == 0
    process = subprocess.Popen([sys.executable, "-m", "nb2pipe", "run", "my pipeline",
                                "--tracking", "none", "--no-html"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "my pipeline" / "runs"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until the slow step is running
        records = list(runs.glob("*/run.json")) if runs.exists() else []
        if records and json.loads(records[0].read_text())["steps"]["slow"]["status"] == \
                "running":
            break
        time.sleep(0.5)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    run_id = records[0].parent.name
    assert f"interrupted: run {run_id} stopped" in err
    command = f"nb2pipe run 'my pipeline' --resume {run_id}"
    assert f"go on with: {command}" in err
    assert json.loads(records[0].read_text())["status"] == "interrupted"
    os.unlink(tmp_path / "slow.flag")
    # the command as printed (`nb2pipe` is this environment's), quoting and all
    again = subprocess.run([sys.executable, "-m", *shlex.split(command), "--tracking", "none",
                            "--no-html"], cwd=tmp_path, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert json.loads(records[0].read_text())["status"] == "succeeded"


FAILS = SLOW.replace('if os.path.exists("slow.flag"):\n    time.sleep(120)\n',
                     'if N > 2:\n    raise ValueError("too many")\n')


def test_a_kfp_local_failure_says_how_to_run_again_not_resume(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "nb.ipynb", FAILS)
    assert run_cli("convert", "nb.ipynb", "-o", "pipeline")[0] == 0
    code, out, err = run_cli("run", "pipeline", "--engine", "kfp-local", "--tracking", "none",
                             "-p", "N=5")
    assert code == 1, err
    hint = next(line for line in err.splitlines() if "fix it, then:" in line)
    assert "nb2pipe run pipeline --engine kfp-local -p N=5" in hint
    assert "--resume" not in hint and "cannot resume" in hint


PLACES = '''# %% [markdown]
# A study whose third step fails inside scikit-learn.
# %% tags=["imports"]
from sklearn.linear_model import LogisticRegression
# %% tags=["step:data"]
X = [[0.0], [1.0], [2.0]]
# %% [markdown]
# Only one class: scikit-learn refuses to fit.
# %% tags=["step:fit"]
y = [1, 1, 1]
note = "one class"
model = LogisticRegression().fit(X, y)
# %% tags=["pipeline-metrics"]
print(model)
'''


def test_a_failure_names_the_users_cell_and_its_line_not_the_librarys(tmp_path):
    """Cell 5 as `check` numbers it (markdown counts; In[] would say 3), line 3 of that cell:
    not the line of scikit-learn's own code where the exception was raised."""
    write_notebook(tmp_path / "nb.ipynb", PLACES)
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", tmp_path / "pipeline", "--tracking", "none", "--no-html")
    assert code != 0
    assert "step `fit` failed in cell 5, line 3 of nb.ipynb: ValueError" in err, err
    # the notebook itself, as one step: the same place
    code, _, err = run_cli("run", tmp_path / "nb.ipynb", "--tracking", "none", "--no-html",
                           "--runs-dir", tmp_path / "runs")
    assert code != 0
    assert "failed in cell 5, line 3: ValueError" in err, err


def test_a_failure_in_nb2pipes_own_cells_says_what_they_were_doing(tmp_path):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["step:make"]\nimport threading\n\n\ndef make():\n'
                   '    return threading.Lock()\n\n\nlock = make()\n'
                   '# %% tags=["step:use"]\nfree = not lock.locked()\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", tmp_path / "pipeline", "--tracking", "none", "--no-html")
    assert code != 0
    assert "step `make` failed while saving the values the step passes on (after cell 1)" \
        in err, err
    assert "in cell 3" not in err and "in cell 4" not in err


def test_a_sweep_labels_its_lines_and_ends_with_a_table_best_first(tmp_path):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% tags=["pipeline-parameters"]\nC = 1.0\nname = "a"\n'
                   '# %% tags=["step:score"]\nscore = 1 - abs(C - 2) / 10\nloss = abs(C - 2)\n'
                   '# %% tags=["pipeline-metrics"]\nscore\nloss\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, out, err = run_cli("run", tmp_path / "pipeline", "--tracking", "none", "--no-html",
                             "-p", "C=0.5,2,8", "--jobs", "2")
    assert code == 0, err
    # every progress line of a run carries its parameter set (not `name`: it does not vary)
    assert "[C=2.0] [1/2] score" in err and "[C=8.0]" in err and "name=" not in err
    assert "[C=0.5] run " in out
    table = out[out.index("sweep of 3 runs"):].splitlines()
    assert "best first by score (higher is better)" in table[0]
    assert table[2].startswith("* 2.0 ")  # score 1.0; then 0.5 (0.85) and 8.0 (0.4)
    assert table[3].startswith("  0.5 ") and table[4].startswith("  8.0 ")
    summary = next((tmp_path / "pipeline" / "runs").glob("sweep-*/summary.csv")).read_text()
    rows = summary.splitlines()
    assert rows[0] == "C,status,score,loss,run_id,seconds"
    assert rows[1].startswith("2.0,succeeded,1.0,0")
    # --sort loss: lower is better
    code, out, _ = run_cli("run", tmp_path / "pipeline", "--tracking", "none", "--no-html",
                           "-p", "C=0.5,8", "--sort", "loss")
    assert "best first by loss (lower is better)" in out
    assert out[out.index("sweep of 2 runs"):].splitlines()[2].startswith("* 0.5 ")


def _in_a_terminal(command: list[str], cwd) -> str:
    """What a user sees running ``command`` in a terminal of 120 columns (a pseudo-terminal)."""
    import fcntl
    import pty
    import select
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen(command, cwd=cwd, stdin=slave, stdout=slave, stderr=slave,
                               close_fds=True)
    os.close(slave)
    seen = b""
    while True:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=60)
    os.close(master)
    return seen.decode(errors="replace")


def test_progress_shows_the_step_and_cell_on_a_terminal_only(tmp_path):
    write_notebook(tmp_path / "nb.ipynb",
                   '# %% [markdown]\n# Slow enough to watch.\n'
                   '# %% tags=["step:wait"]\nimport time\ntime.sleep(1)\nx = 1\n'
                   '# %% tags=["step:use"]\ny = x + 1\n')
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    nb2pipe = [sys.executable, "-m", "nb2pipe", "run", "pipeline", "--tracking", "none",
               "--no-html"]
    seen = _in_a_terminal(nb2pipe, tmp_path)
    assert "wait · cell 2" in seen  # the cell as the user numbers it (markdown counts)
    assert "cell/s]" in seen or "s/cell]" in seen  # tqdm's elapsed time and rate
    piped = subprocess.run(nb2pipe, cwd=tmp_path, capture_output=True, text=True)
    assert piped.returncode == 0
    assert "· cell" not in piped.stderr and "[1/2] wait" in piped.stderr  # logs stay plain


def test_a_kfp_local_failure_names_the_cell_and_line_too(tmp_path):
    write_notebook(tmp_path / "nb.ipynb", PLACES)
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", tmp_path / "pipeline", "--engine", "kfp-local",
                           "--tracking", "none")
    assert code != 0
    assert "step `fit` failed in cell 5, line 3 of nb.ipynb: ValueError" in err, err


SIBLINGS = '''# %% tags=["imports"]
import mlflow
from sklearn.linear_model import LogisticRegression
# %% tags=["step:load"]
X = [[0.0], [1.0], [2.0], [3.0]]
y = [0, 0, 1, 1]
mlflow.autolog()
# %% tags=["step:bad", "prev:load"]
bad = LogisticRegression(C=-1.0).fit(X, y)
# %% tags=["step:after_bad", "prev:bad"]
print(bad)
# %% tags=["step:good", "prev:load"]
good = LogisticRegression().fit(X, y)
score = good.score(X, y)
# %% tags=["pipeline-metrics"]
score
'''


def test_a_failed_step_stops_only_the_steps_that_need_it(tmp_path, monkeypatch):
    """In one kernel, with MLflow's autologging on (the notebook's and nb2pipe's): the
    failing step's MLflow run is ended, its sibling runs and succeeds, the step after it is
    listed as not run, with why."""
    monkeypatch.chdir(tmp_path)  # MLflow's store (mlflow.db) goes beside the notebook
    write_notebook(tmp_path / "nb.ipynb", SIBLINGS)
    code, _, err = run_cli("convert", tmp_path / "nb.ipynb", "-o", tmp_path / "pipeline")
    assert code == 0, err
    code, _, err = run_cli("run", tmp_path / "pipeline", "--no-html", "--no-validate")
    assert code != 0
    assert "already active" not in err, err
    assert "after_bad not run: it needs step `bad`, which failed" in err, err
    run = sorted((tmp_path / "pipeline" / "runs").iterdir())[-1]
    record = json.loads((run / "run.json").read_text())
    states = {name: step["status"] for name, step in record["steps"].items()}
    assert states == {"load": "succeeded", "bad": "failed", "after_bad": "skipped",
                      "good": "succeeded", "metrics": "succeeded"}, states
