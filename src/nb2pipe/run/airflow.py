"""The ``airflow`` engine: run the pipeline's Airflow DAG here with ``airflow dags test``.

Airflow runs the DAG of ``airflow/DAG_ID.py`` (:mod:`nb2pipe.targets.airflow`) end to end in
one process, on an SQLite database in an Airflow home inside the pipeline folder
(``.airflow/``, made on first use), with no scheduler. Its tasks write the run record
(:mod:`nb2pipe.run.airflow_tasks`): the same ``runs/ID/`` as the other engines.

Airflow is found as ``NB2PIPE_AIRFLOW`` (the ``airflow`` command to use), else ``airflow`` on
``PATH``; its Python must have nb2pipe with its ``run`` and ``tracking`` extras
(``pip install 'nb2pipe[airflow]'``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess

from nb2pipe.run.engine import RunError, Runner
from nb2pipe.run.record import RunRecord, new_run_id
from nb2pipe.targets.airflow import airflow_value


def airflow_command() -> str:
    """The ``airflow`` executable to use, or a :class:`RunError` saying how to get one."""
    named = os.environ.get("NB2PIPE_AIRFLOW") or shutil.which("airflow")
    if not named or not os.path.exists(named):
        raise RunError("--engine airflow needs Apache Airflow 3: pip install 'nb2pipe[airflow]' "
                       "(or set NB2PIPE_AIRFLOW to an `airflow` command whose Python has "
                       "nb2pipe)")
    return named


def airflow_environment(pipeline_folder: str) -> dict:
    """The environment of the ``airflow`` commands: a home inside the pipeline folder
    (SQLite), the DAGs folder ``airflow/``, no example DAGs."""
    home = os.path.join(os.path.abspath(pipeline_folder), ".airflow")
    os.makedirs(home, exist_ok=True)
    return {**os.environ, "AIRFLOW_HOME": home,
            "AIRFLOW__CORE__DAGS_FOLDER": os.path.join(os.path.abspath(pipeline_folder),
                                                       "airflow"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS": "False",
            "NB2PIPE_PIPELINE": os.path.abspath(pipeline_folder),
            "PYTHONUNBUFFERED": "1"}


class AirflowRunner(Runner):
    engine = "airflow"
    starts_kernels = False  # (its steps run in processes of its own)

    def check_source(self) -> None:
        self._dag()

    def _dag(self) -> str:
        from nb2pipe.targets.airflow import dag_id

        source = self.source
        name = dag_id(source.pipeline)
        if source.notebook is not None or not os.path.exists(
                os.path.join(source.folder, "airflow", f"{name}.py")):
            raise RunError(f"--engine airflow runs a converted folder with airflow/{name}.py: "
                           f"convert the notebook with nb2pipe convert --target airflow")
        return name

    def resume(self, run_id: str) -> RunRecord:
        raise RunError("airflow runs are not resumed here: run again (Airflow's own UI "
                       "clears and re-runs the failed tasks of a deployed DAG)")

    def run(self, parameters: dict, resumed: RunRecord | None = None) -> RunRecord:
        source = self.source
        name = self._dag()
        airflow = airflow_command()
        env = airflow_environment(source.folder)
        if self.tracking_mode != "none":  # the store `nb2pipe run` would use, from here
            from nb2pipe.tracking import default_uri

            env["MLFLOW_TRACKING_URI"] = default_uri(os.getcwd())
        home = env["AIRFLOW_HOME"]
        if not os.path.exists(os.path.join(home, "airflow.db")):
            self.report(f"setting up Airflow's database in {os.path.relpath(home)} (once) …")
            done = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True,
                                  text=True)
            if done.returncode != 0:
                raise RunError(f"airflow db migrate failed: {_tail(done.stdout + done.stderr)}")
        run_id = new_run_id()
        self.started_runs.append(run_id)
        folder = os.path.join(self.runs_dir, run_id)
        defaults = {p.name: p.default for p in source.pipeline.parameters}
        conf = {**{name: airflow_value(value, defaults.get(name, value))
                   for name, value in parameters.items()},
                "nb2pipe_run_id": run_id, "nb2pipe_tracking": self.tracking_mode,
                "nb2pipe_runs_dir": self.runs_dir, "nb2pipe_register": self.register,
                "nb2pipe_validate": self.validation_options.enabled,
                "nb2pipe_strict": self.validation_options.strict}
        self.report(f"running {len(source.pipeline.steps)} steps as Airflow DAG `{name}` "
                    f"(airflow dags test) …")
        os.makedirs(folder, exist_ok=True)
        log_path = os.path.join(folder, "airflow.log")
        with open(log_path, "w", encoding="utf-8") as log:
            process = subprocess.Popen(
                [airflow, "dags", "test", name, "-c", json.dumps(conf, default=str)],
                env=env, cwd=source.work_dir, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True)
            for line in process.stdout:
                log.write(line)
                self._progress(line)
            process.wait()
        if not os.path.exists(os.path.join(folder, "run.json")):
            raise RunError(f"Airflow ran no task of `{name}` (exit code {process.returncode}): "
                           f"{_tail(open(log_path, encoding='utf-8').read())} (all of it: "
                           f"{log_path})")
        record = RunRecord.read(folder)
        if record.status == "running":  # `finish` never ran: Airflow stopped early
            record.status = "failed"
            record.write(folder)
        return record

    def _progress(self, line: str) -> None:
        """A step's start and end, from the lines of the tasks (the papermill runner's)."""
        text = line.strip()
        if text.startswith("[") and "] " in text and " …" in text and "/" in text[:8]:
            self.report(text)
        elif ": ok (" in text and text.endswith("s)") or text.endswith(": FAILED"):
            self.report(text if text.startswith("    ") else f"    {text}")


def _tail(text: str, lines: int = 5) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)


#: The file that says nb2pipe wrote a deployed pipeline's folder, with the files it wrote.
DEPLOYED = ".nb2pipe-deployed.json"


def deploy(pipeline_folder: str, dags_folder: str, report=print) -> str:
    """Copy a converted pipeline's DAG and what its tasks need (the step notebooks, the
    baselines, the notebook, its data files and local modules) to ``dags_folder/DAG_ID/``,
    laid out as in the project, so that the DAG finds them. Files nb2pipe did not write are
    never replaced; a DAG id another DAG of the folder has is refused. Returns the folder."""
    import ast

    from nb2pipe.run.source import load_source
    from nb2pipe.targets.airflow import dag_id

    source = load_source(pipeline_folder)
    if source.notebook is not None:
        raise RunError(f"{pipeline_folder} is a notebook: convert it with --target airflow")
    name = dag_id(source.pipeline)
    dag_file = os.path.join(source.folder, "airflow", f"{name}.py")
    if not os.path.exists(dag_file):
        raise RunError(f"{pipeline_folder} has no airflow/{name}.py: convert the notebook "
                       f"with --target airflow")
    work = os.path.abspath(source.work_dir)
    inside = os.path.relpath(os.path.abspath(source.folder), work)
    if inside.startswith(".."):
        raise RunError(f"the pipeline folder is not under its notebook's folder ({work}): "
                       f"convert with -o inside it to deploy")
    target = os.path.join(os.path.abspath(dags_folder), name)
    for path in _python_files(dags_folder, skip=target):
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                tree = ast.parse(handle.read())
        except (OSError, SyntaxError, ValueError):
            continue
        if any(isinstance(n, ast.keyword) and n.arg == "dag_id" and
               isinstance(n.value, ast.Constant) and n.value.value == name
               for n in ast.walk(tree)):
            raise RunError(f"DAG id `{name}` is taken by {path} in {dags_folder}: convert "
                           f"the notebook under another name, or remove that DAG")
    earlier: set[str] = set()
    if os.path.exists(target):
        try:
            with open(os.path.join(target, DEPLOYED), encoding="utf-8") as handle:
                earlier = set(json.load(handle)["files"])
        except (OSError, ValueError, KeyError):
            raise RunError(f"{target} exists and nb2pipe did not write it: move it away or "
                           f"deploy to another --dags-folder") from None
    files = _deployed_files(source, work, inside)
    foreign = [relative for relative in files
               if os.path.exists(os.path.join(target, relative)) and relative not in earlier]
    if foreign:
        raise RunError(f"{os.path.join(target, foreign[0])} exists and nb2pipe did not write "
                       f"it: nothing was copied")
    for relative, origin in sorted(files.items()):
        destination = os.path.join(target, relative)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copyfile(origin, destination)
    ignore = os.path.join(target, ".airflowignore")  # Airflow parses only the DAG
    with open(ignore, "w", encoding="utf-8") as handle:
        handle.write("".join(f"{os.path.join(inside, part)}/\n".replace(os.sep, "/").lstrip("./")
                             for part in ("components", "papermill", "kfp", "validation")))
    with open(os.path.join(target, DEPLOYED), "w", encoding="utf-8") as handle:
        json.dump({"dag_id": name, "source": os.path.abspath(source.folder),
                   "files": sorted([*files, ".airflowignore"])}, handle, indent=1)
    report(f"deployed DAG `{name}` to {target} ({len(files)} files): Airflow finds it at its "
           f"next parse; run it with `airflow dags trigger {name}`")
    return target


def _deployed_files(source, work: str, inside: str) -> dict[str, str]:
    """Relative path in the deployed folder → the file to copy there."""
    from nb2pipe.analysis.local_modules import local_modules
    from nb2pipe.analysis.notebook import NotebookAnalysis
    from nb2pipe.notebook import read_notebook
    from nb2pipe.run.datadir import data_files

    files: dict[str, str] = {}
    skipped = {"runs", ".airflow", "kfp"}
    for root, dirs, names in os.walk(source.folder):
        dirs[:] = sorted(d for d in dirs if d not in skipped and not d.startswith("."))
        for filename in names:
            path = os.path.join(root, filename)
            files[os.path.join(inside, os.path.relpath(path, source.folder))] = path
    notebook_path = os.path.normpath(os.path.join(source.folder, source.pipeline.notebook))
    if os.path.exists(notebook_path):
        files[os.path.relpath(notebook_path, work)] = notebook_path
        notebook = read_notebook(notebook_path)
        modules = local_modules(work, NotebookAnalysis(notebook).imported_modules)
        for relative in modules:
            files[relative] = os.path.join(work, relative)
    for data in data_files(source.pipeline, work, {}):
        if os.path.isdir(data.local):
            for root, _dirs, names in os.walk(data.local):
                for filename in names:
                    path = os.path.join(root, filename)
                    files[os.path.relpath(path, work)] = path
        elif not os.path.isabs(data.path):
            files[os.path.relpath(data.local, work)] = data.local
    return {k: v for k, v in files.items() if not k.startswith("..")}


def _python_files(folder: str, skip: str):
    for root, dirs, names in os.walk(folder):
        if os.path.abspath(root).startswith(skip):
            dirs[:] = []
            continue
        for filename in names:
            if filename.endswith(".py"):
                yield os.path.join(root, filename)
