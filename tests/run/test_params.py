import pytest

from nb2pipe.pipeline.model import Parameter
from nb2pipe.run.params import ParameterError, parameter_sets

PARAMETERS = [Parameter("lr", "float", 0.1, 0), Parameter("depth", "int", 3, 0),
              Parameter("name", "str", "x", 0), Parameter("layers", "list", [8], 0)]


def test_defaults_overrides_and_types():
    assert parameter_sets(PARAMETERS) == [{"lr": 0.1, "depth": 3, "name": "x", "layers": [8]}]
    (only,) = parameter_sets(PARAMETERS, ["lr=1", "depth=5", "name=abc", "layers=[1, 2]"])
    assert only == {"lr": 1.0, "depth": 5, "name": "abc", "layers": [1, 2]}
    assert isinstance(only["lr"], float)


def test_sweeps_make_a_grid(tmp_path):
    sets = parameter_sets(PARAMETERS, ["lr=0.1,0.01", "depth=3,5"])
    assert [(s["lr"], s["depth"]) for s in sets] == [(0.1, 3), (0.1, 5), (0.01, 3), (0.01, 5)]
    file = tmp_path / "p.yaml"
    file.write_text("name: from-file\ngrid:\n  depth: [1, 2]\n")
    sets = parameter_sets(PARAMETERS, ["name=cli"], str(file))
    assert [(s["name"], s["depth"]) for s in sets] == [("cli", 1), ("cli", 2)]


@pytest.mark.parametrize("cli,message", [
    (["rate=1"], "unknown parameter `rate`"),
    (["depth=deep"], "parameter `depth` is an integer"),
    (["lr"], "write `-p NAME=VALUE`"),
])
def test_bad_parameters_are_explained(cli, message):
    with pytest.raises(ParameterError, match=message):
        parameter_sets(PARAMETERS, cli)


@pytest.mark.parametrize("text,message", [
    ("depth: [\n", "p.yaml: not valid YAML at line 2, column 1: expected the node content"),
    ("depth: 1\n  lr: 2\n", "not valid YAML at line 2, column 5: mapping values"),
    ("- 1\n", "expected a mapping of parameter names to values"),
    ("grid: 3\n", "`grid` must map parameter names to lists"),
])
def test_a_bad_parameters_file_is_one_clear_line(tmp_path, text, message):
    file = tmp_path / "p.yaml"
    file.write_text(text)
    with pytest.raises(ParameterError) as raised:
        parameter_sets(PARAMETERS, [], str(file))
    assert message in str(raised.value) and "\n" not in str(raised.value)
