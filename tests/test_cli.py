"""`nb2pipe check` as a user runs it: paths, formats, selection, config, exit codes."""

import json
import os
import subprocess
import sys

import pytest

from tests.helpers import run_cli, write_notebook

DIRTY = '# %% execution_count=3\nimport numpy as np\n# %% execution_count=1\n' \
        'x = np.random.rand(3)\nprint(undefined_thing)\n'
CLEAN = '# %% tags=["parameters"] execution_count=1\nN = 3\n# %% execution_count=2\n' \
        'print(N)\n'


@pytest.fixture
def folder(tmp_path):
    write_notebook(tmp_path / "dirty.ipynb", DIRTY)
    write_notebook(tmp_path / "clean.ipynb", CLEAN)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    write_notebook(tmp_path / ".ipynb_checkpoints" / "dirty-checkpoint.ipynb", DIRTY)
    return tmp_path


def test_text_output_names_path_cell_line_column_and_code(folder):
    code, out, err = run_cli("check", folder, "--output-format", "concise")
    assert code == 1
    assert f"{folder / 'dirty.ipynb'}:cell 2:1:1: NB101 " in out
    assert f"{folder / 'dirty.ipynb'}:cell 2:2:7: NB106 `undefined_thing` is not defined" in out
    assert "checkpoint" not in out
    assert "clean.ipynb" not in out
    assert "in 1 of 2 notebooks" in err


def test_full_output_quotes_the_code_and_the_help(folder):
    code, out, _ = run_cli("check", folder / "dirty.ipynb")
    assert "print(undefined_thing)" in out and "^" in out and "= help:" in out


def test_clean_notebook_exits_zero(folder):
    code, out, err = run_cli("check", folder / "clean.ipynb")
    assert (code, out) == (0, "")
    assert "All checks passed" in err


def test_exit_zero_and_select_ignore(folder):
    assert run_cli("check", folder, "--exit-zero")[0] == 0
    code, out, _ = run_cli("check", folder, "--select", "NB106", "--output-format", "concise")
    assert {line.split(": ")[1].split()[0] for line in out.splitlines()} == {"NB106"}
    code, out, _ = run_cli("check", folder, "--select", "NB1", "--ignore", "NB101,NB106",
                           "--output-format", "concise")
    codes = {line.split(": ")[1].split()[0] for line in out.splitlines()}
    assert codes and codes <= {"NB102", "NB103", "NB104", "NB105"}
    code, out, _ = run_cli("check", folder, "--select", "ALL", "--ignore", "ALL")
    assert code == 0 and out == ""
    code, _, _ = run_cli("check", folder, "--select", "NB106", "--extend-select", "NB2",
                         "--exit-zero")
    assert code == 0


def test_unknown_rule_is_a_usage_error_with_a_suggestion(folder):
    code, _, err = run_cli("check", folder, "--select", "NB1055")
    assert code == 2 and "unknown rule selector `NB1055`" in err and "NB105" in err


def test_missing_path_is_a_usage_error(tmp_path):
    code, _, err = run_cli("check", tmp_path / "nope.ipynb")
    assert code == 2 and "no such file or folder" in err


def test_pyproject_config_is_used_and_unknown_keys_are_errors(folder):
    (folder / "pyproject.toml").write_text('[tool.nb2pipe]\nignore = ["NB1", "NB2", "NB3", "NB7"]\n')
    code, out, _ = run_cli("check", folder)
    assert code == 0 and out == ""
    (folder / "pyproject.toml").write_text('[tool.nb2pipe]\nignroe = ["NB1"]\n')
    code, _, err = run_cli("check", folder)
    assert code == 2 and "unknown key `ignroe`" in err and "did you mean `ignore`" in err
    (folder / "pyproject.toml").write_text('[tool.nb2pipe]\nselect = "NB1"\n')
    code, _, err = run_cli("check", folder)
    assert code == 2 and "must be a list of strings" in err


def test_exclude_and_extend_exclude_from_the_config_and_the_command_line(tmp_path):
    for name in ("keep", "scratch", "archive", "venv"):
        (tmp_path / name).mkdir()
        write_notebook(tmp_path / name / "n.ipynb", DIRTY)

    def checked(*options):
        _, out, _ = run_cli("check", tmp_path, "--select", "NB106", "--output-format",
                            "concise", *options)
        return {line.split("/")[-2] for line in out.splitlines()}

    assert checked() == {"keep", "scratch", "archive"}  # venv is in the default list
    # extend-exclude written before exclude still adds to it
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2pipe]\nextend-exclude = ["scratch"]\nexclude = ["archive"]\n')
    assert checked() == {"keep", "venv"}
    assert checked("--extend-exclude", "keep") == {"venv"}
    assert checked("--exclude", "venv") == {"keep", "archive"}  # scratch: extend-exclude


def test_per_file_ignores(folder):
    (folder / "pyproject.toml").write_text(
        '[tool.nb2pipe]\nselect = ["NB106"]\n[tool.nb2pipe.per-file-ignores]\n'
        '"dirty.ipynb" = ["NB106"]\n')
    assert run_cli("check", folder)[0] == 0


def test_noqa_cell_tag_and_notebook_metadata_suppress(tmp_path):
    path = write_notebook(tmp_path / "a.ipynb", "# %%\nprint(gone)  # noqa: NB106\n"
                          "print(other)  # noqa\nprint(third)\n"
                          '# %% tags=["nb2pipe:ignore=NB106"]\nprint(fourth)\n')
    _, out, _ = run_cli("check", path, "--select", "NB106", "--output-format", "concise")
    assert "third" in out and "gone" not in out and "other" not in out and "fourth" not in out
    metadata = {"kernelspec": {"name": "python3", "language": "python"},
                "nb2pipe": {"ignore": ["NB106"]}}
    path = write_notebook(tmp_path / "b.ipynb", "# %%\nprint(gone)\n", metadata)
    assert run_cli("check", path, "--select", "NB106")[0] == 0


def test_json_output_schema(folder):
    code, out, _ = run_cli("check", folder, "--output-format", "json")
    document = json.loads(out)
    first = next(d for d in document["diagnostics"] if d["cell"] is not None)
    assert set(first) >= {"code", "name", "severity", "message", "path", "cell", "location",
                          "help", "fix", "url"}
    assert first["cell"]["number"] == first["cell"]["index"] + 1
    assert {m["path"] for m in document["maturity"]} == {str(folder / "clean.ipynb"),
                                                         str(folder / "dirty.ipynb")}


def test_github_annotations_point_at_lines_of_the_ipynb_file(folder):
    _, out, _ = run_cli("check", folder / "dirty.ipynb", "--output-format", "github",
                        "--select", "NB106")
    assert out.startswith("::error file=")
    line = int(out.split(",line=")[1].split(",")[0])
    text = (folder / "dirty.ipynb").read_text().splitlines()[line - 1]
    assert "undefined_thing" in text


def test_maturity_checklist_per_notebook_and_folder(folder):
    code, out, _ = run_cli("check", folder, "--maturity", "--select", "NB1")
    assert "dirty.ipynb: level 0" in out
    assert "✗ Runs top to bottom" in out and "NB101 ×1" in out
    assert "Folder: 2 notebooks" in out


def test_bad_files_are_diagnostics_not_tracebacks(tmp_path):
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "binary.ipynb").write_bytes(os.urandom(200) + b"\xff")
    write_notebook(tmp_path / "r.ipynb", "# %%\nx <- 1\n",
                   {"kernelspec": {"name": "ir", "language": "R"}})
    write_notebook(tmp_path / "py2.ipynb", '# %%\nprint "hi"\n')
    code, out, err = run_cli("check", tmp_path, "--output-format", "concise")
    assert code == 1 and "Traceback" not in out + err
    assert "broken.ipynb: NB901 not valid JSON" in out
    assert "binary.ipynb: NB901" in out
    assert "r.ipynb: NB903 the kernel's language is `r`" in out
    assert "py2.ipynb:cell 1:1:1: NB902 cell does not parse" in out


def test_a_file_named_that_is_not_a_notebook_is_called_so_not_damaged(tmp_path):
    (tmp_path / "notes.md").write_text("# Notes\n")
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    code, out, err = run_cli("check", tmp_path / "notes.md", tmp_path / "broken.ipynb")
    assert code == 1 and "Traceback" not in out + err
    notes, broken = out.split("broken.ipynb: NB901")
    assert "notes.md: NB901" in notes and "checks Jupyter notebooks (.ipynb files)" in notes
    assert "damaged" in broken and ".ipynb files" not in broken
    assert "in 2 of 2 files" in err  # not "notebooks": one of them is not


def test_rule_command_prints_the_documentation():
    code, out, _ = run_cli("rule", "NB105")
    assert code == 0 and out.startswith("# NB105: use-before-define")
    assert "## Why is this bad?" in out
    code, out, _ = run_cli("rule", "use-before-define")
    assert out.startswith("# NB105")
    code, _, err = run_cli("rule", "NB999")
    assert code == 2 and "unknown rule" in err
    code, out, _ = run_cli("rule", "--all")
    assert out.count("\n") >= 25


def test_console_script_and_version():
    result = subprocess.run([sys.executable, "-m", "nb2pipe", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("nb2pipe ")


def test_many_files_are_checked_in_parallel_with_the_same_results(tmp_path):
    for number in range(30):
        write_notebook(tmp_path / f"n{number:02}.ipynb", DIRTY if number % 2 else CLEAN)
    _, parallel, _ = run_cli("check", tmp_path, "--output-format", "concise", "-j", "2")
    _, serial, _ = run_cli("check", tmp_path, "--output-format", "concise", "-j", "1")
    assert parallel == serial and parallel.count("NB106") == 15


def test_check_does_not_import_heavy_libraries(folder):
    code = ("import sys\nfrom nb2pipe.cli import main\n"
            f"main(['check', {str(folder)!r}, '--exit-zero', '--output-format', 'sarif'])\n"
            "heavy = [m for m in ('kfp', 'mlflow', 'papermill', 'pandas', 'rich') "
            "if m in sys.modules]\nprint(heavy)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_folders_nb2pipe_wrote_are_not_checked_again(tmp_path, monkeypatch):
    """After convert and run, `nb2pipe check .` checks the notebook, not the step notebooks,
    the executed ones or MLflow's copies of them."""
    import shutil
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    samples = Path(__file__).resolve().parent.parent / "sample_notebooks"
    shutil.copy(samples / "classifier_pipeline.ipynb", tmp_path)
    assert run_cli("convert", "classifier_pipeline.ipynb", "-o", "pipeline")[0] == 0
    (tmp_path / "pipeline" / "runs" / "r1" / "notebooks").mkdir(parents=True)
    (tmp_path / "pipeline" / "runs" / "r1" / "run.json").write_text("{}")
    shutil.copy(tmp_path / "pipeline" / "papermill" / "train.ipynb",
                tmp_path / "pipeline" / "runs" / "r1" / "notebooks")
    (tmp_path / "mlruns" / "1" / "artifacts").mkdir(parents=True)
    shutil.copy(tmp_path / "pipeline" / "papermill" / "train.ipynb",
                tmp_path / "mlruns" / "1" / "artifacts")
    code, out, err = run_cli("check", ".", "--output-format", "concise", "--no-cache",
                             "--exit-zero", "--select", "NB1,NB2,NB3")
    assert "1 notebook)" in err or "of 1 notebook" in err, err  # the sample, and only it
    assert "papermill" not in out and "mlruns" not in out and "runs/" not in out
    # named explicitly, a generated notebook is checked
    code, out, _ = run_cli("check", "pipeline/papermill/train.ipynb", "--output-format",
                           "json", "--no-cache", "--exit-zero")
    assert json.loads(out)["diagnostics"]


def test_statistics_count_each_rule_instead_of_listing_findings(tmp_path):
    for number in range(3):
        write_notebook(tmp_path / f"dirty{number}.ipynb", DIRTY)
    write_notebook(tmp_path / "clean.ipynb", CLEAN)
    _, concise, _ = run_cli("check", tmp_path, "--output-format", "concise")
    code, out, err = run_cli("check", tmp_path, "--statistics")
    assert code == 1 and "Found" in err
    rows = [line.split() for line in out.splitlines()]
    counts = {row[1]: int(row[0]) for row in rows}
    for rule, count in counts.items():
        assert concise.count(f" {rule} ") == count, rule
    assert counts["NB106"] == 3 and rows[0][0] == str(max(counts.values()))
    assert "[*]" in out  # NB303 is fixable
    _, as_json, _ = run_cli("check", tmp_path, "--statistics", "--output-format", "json")
    assert {row["code"]: row["count"] for row in json.loads(as_json)} == counts


def test_a_notebook_on_standard_input_is_checked_as_the_file_it_is_named(tmp_path):
    (tmp_path / "proj").mkdir()
    write_notebook(tmp_path / "proj" / "nb.ipynb", DIRTY)
    data = (tmp_path / "proj" / "nb.ipynb").read_bytes()
    (tmp_path / "proj" / "requirements.txt").write_text("numpy==1.26.4\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2pipe.per-file-ignores]\n"proj/nb.ipynb" = ["NB102"]\n')

    def check(*arguments):
        return subprocess.run([sys.executable, "-m", "nb2pipe", "check", *arguments,
                               "--output-format", "concise"], input=data,
                              capture_output=True, cwd=tmp_path)

    named = check("-", "--stdin-filename", "proj/nb.ipynb")
    out = named.stdout.decode()
    assert named.returncode == 1 and "proj/nb.ipynb:cell 2:2:7: NB106" in out
    assert "NB205" not in out  # the requirements.txt next to that name declares numpy
    assert "NB102" not in out  # per-file-ignores match the name
    bare = check("-").stdout.decode()
    assert "-:cell 2:2:7: NB106" in bare and "NB205" in bare
    mixed = check("-", str(tmp_path / "proj" / "nb.ipynb"))
    assert mixed.returncode == 2 and b"standard input" in mixed.stderr


def test_quiet_prints_only_the_findings_and_silent_nothing(folder):
    code, out, err = run_cli("check", folder, "--quiet", "--output-format", "concise",
                             "--no-cache")
    assert code == 1 and "NB106" in out and err == ""
    code, out, err = run_cli("check", folder, "-s", "--no-cache")
    assert code == 1 and out == "" and err == ""
    code, out, err = run_cli("check", folder, "-s", "--no-cache", "--select", "NB208")
    assert code == 0 and out == "" and err == ""


def test_show_files_lists_what_would_be_checked(folder):
    code, out, _ = run_cli("check", folder, "--show-files")
    assert code == 0
    assert sorted(os.path.basename(line) for line in out.splitlines()) == \
        ["clean.ipynb", "dirty.ipynb"]  # not the checkpoint


def test_show_settings_says_where_each_setting_comes_from(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2pipe]\nignore = ["NB103"]\nextend-exclude = ["scratch"]\n'
        '[tool.nb2pipe.per-file-ignores]\n"old/*.ipynb" = ["NB1"]\n')
    write_notebook(tmp_path / "nb.ipynb", CLEAN)
    code, out, _ = run_cli("check", tmp_path, "--show-settings", "--ignore", "NB104")
    assert code == 0
    settings = dict(line.split(":", 1) for line in out.splitlines())
    assert settings["configuration"].strip() == str(tmp_path / "pyproject.toml")
    assert "NB103" in settings["not selected"] and "NB104" in settings["not selected"]
    from nb2pipe.lint.registry import RULES

    assert "NB105" in settings[f"rules ({len(RULES) - 2} of {len(RULES)})"]
    assert "scratch" in settings["exclude"] and ".ipynb_checkpoints" in settings["exclude"]
    assert settings["per-file-ignores"].strip() == "old/*.ipynb = NB1"


def test_output_file_takes_the_report_and_the_summary_stays_on_stderr(folder, tmp_path):
    report = tmp_path / "out" / "nb2pipe.sarif"
    report.parent.mkdir()
    code, out, err = run_cli("check", folder, "--output-format", "sarif", "-o", report,
                             "--no-cache")
    assert code == 1 and out == "" and "Found" in err
    results = json.loads(report.read_text())["runs"][0]["results"]
    assert any(r["ruleId"] == "NB106" for r in results)
    code, _, err = run_cli("check", folder, "-o", tmp_path / "missing" / "x.txt", "--no-cache")
    assert code == 2 and "cannot write" in err and "Traceback" not in err


def test_a_bug_inside_nb2pipe_is_three_lines_and_a_file_not_a_traceback(tmp_path, monkeypatch):
    """An internal error (here: a target's renderer failing half-way) names itself and where
    in nb2pipe it happened, keeps the traceback in a file, and leaves nothing behind: no
    output folder, the notebook as it was."""
    import re
    import shutil
    from pathlib import Path

    from nb2pipe.targets.papermill import PapermillTarget

    samples = Path(__file__).resolve().parent.parent / "sample_notebooks"

    monkeypatch.chdir(tmp_path)
    shutil.copy(samples / "classifier_pipeline.ipynb", tmp_path)
    before = (tmp_path / "classifier_pipeline.ipynb").read_bytes()

    def broken(self, pipeline, notebook):
        return {}["step"]

    monkeypatch.setattr(PapermillTarget, "render", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    code, out, err = run_cli("convert", "classifier_pipeline.ipynb", "-o", "out")
    assert code == 2 and out == ""
    assert "Traceback" not in err and len(err.strip().splitlines()) == 3
    assert re.search(r"nb2pipe convert failed inside nb2pipe: KeyError: 'step' \(\w+\.py:\d+\)",
                     err), err
    (kept,) = (tmp_path / "tmp").glob("nb2pipe-error-*.txt")
    assert str(kept) in err and "Traceback" in kept.read_text() and "broken" in kept.read_text()
    assert not (tmp_path / "out").exists()
    assert (tmp_path / "classifier_pipeline.ipynb").read_bytes() == before
    assert not list(tmp_path.glob(".nb2pipe-*"))  # (no staging folder left)
    monkeypatch.setenv("NB2PIPE_DEBUG", "1")
    with pytest.raises(KeyError):
        run_cli("convert", "classifier_pipeline.ipynb", "-o", "out")
