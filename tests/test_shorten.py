"""Messages are never cut inside a word or a number (issue H): "675 fits failed with the
followin" hid the cause, and `LogisticRegression(max_iter=10` misread `max_iter=1000`."""

from nb2pipe.diagnostic import shorten


def test_long_text_is_cut_between_words_with_an_ellipsis():
    text = "ValueError: 675 fits failed with the following error: the solver did not converge"
    short = shorten(text, 40)
    assert short == "ValueError: 675 fits failed with the…"
    assert len(short) <= 41 and text.startswith(short[:-1])


def test_code_is_cut_at_punctuation_never_inside_a_number():
    short = shorten('LogisticRegression(max_iter=1000, solver="saga")', 30)
    assert short.endswith("…") and "max_iter=10" not in short
    assert shorten("model.score(X_test, y_test)", 40) == "model.score(X_test, y_test)"


def test_a_failing_step_keeps_its_whole_message_in_run_json(tmp_path, monkeypatch):
    import json

    from tests.helpers import run_cli, write_notebook

    monkeypatch.chdir(tmp_path)
    reason = "the following error happened " * 20 + "AT THE END"
    write_notebook(tmp_path / "nb.ipynb", '# %% tags=["step:fail"]\n'
                   f'raise ValueError("675 fits failed with {reason}")\n')
    assert run_cli("convert", "nb.ipynb", "-o", "pipeline")[0] == 0
    code, _, err = run_cli("run", "pipeline", "--tracking", "none", "--no-html")
    assert code == 1
    line = next(x for x in err.splitlines() if "step `fail` failed" in x)
    assert line.endswith("…") and not line.endswith("followin…")
    record = json.loads(next((tmp_path / "pipeline" / "runs").glob("*/run.json")).read_text())
    assert record["steps"]["fail"]["error"]["evalue"].endswith("AT THE END")
