"""MLflow's module-to-distribution map, cached between runs (nb2pipe.packagemap):
what a run gets from the cache is the map MLflow computes, and an environment that changed
(a distribution added or reinstalled) never gets an old map. Fresh interpreters, real MLflow,
real distributions on ``sys.path``."""

import json
import os
import subprocess
import sys
import time

# Fills MLflow's map through nb2pipe, says whether MLflow computed it, then computes MLflow's
# own map in the same process and prints both.
SCRIPT = r'''
import json
from mlflow.utils import requirements_utils
from nb2pipe import packagemap as package_map

computed = []
original = requirements_utils._init_modules_to_packages_map
def counting():
    computed.append(1)
    original()
requirements_utils._init_modules_to_packages_map = counting
package_map.fill(requirements_utils)
given = requirements_utils._MODULES_TO_PACKAGES
requirements_utils._MODULES_TO_PACKAGES = None
original()
print(json.dumps({"computed": bool(computed), "given": given,
                  "mlflow": requirements_utils._MODULES_TO_PACKAGES}))
'''


def _fill(tmp_path, extra_path) -> dict:
    env = {**os.environ, "NB2PIPE_STORE_TEMPLATES": str(tmp_path / "cache"),
           "PYTHONPATH": os.pathsep.join([str(extra_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _install(site, name: str, module: str) -> None:
    """A distribution as pip leaves one: its metadata folder and its module."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text(f"{module}/__init__.py,,\n{info.name}/METADATA,,\n")
    (site / module).mkdir()
    (site / module / "__init__.py").write_text("")


def test_the_cached_map_is_mlflows_and_follows_the_environment(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    _install(site, "nb2pipe-probe-one", "probe_one")
    first = _fill(tmp_path, site)
    assert first["computed"] and first["given"] == first["mlflow"]
    assert first["given"]["probe_one"] == ["nb2pipe-probe-one"]
    (cached,) = (tmp_path / "cache").glob("mlflow-*-packages-*.json")

    again = _fill(tmp_path, site)  # the same environment: from the cache, equal to MLflow's
    assert not again["computed"] and again["given"] == again["mlflow"] == first["mlflow"]

    _install(site, "nb2pipe-probe-two", "probe_two")  # a distribution installed since
    added = _fill(tmp_path, site)
    assert added["computed"] and added["given"]["probe_two"] == ["nb2pipe-probe-two"]

    # the same names, one distribution reinstalled (its metadata folder made anew) with
    # another module: not the old map
    info = site / "nb2pipe-probe-one-1.0.dist-info"
    (info / "top_level.txt").write_text("probe_renamed\n")
    (info / "RECORD").write_text(f"probe_renamed/__init__.py,,\n{info.name}/METADATA,,\n")
    (site / "probe_renamed").mkdir()
    (site / "probe_renamed" / "__init__.py").write_text("")
    later = time.time() + 5
    os.utime(info, (later, later))
    reinstalled = _fill(tmp_path, site)
    assert reinstalled["computed"] and reinstalled["given"] == reinstalled["mlflow"]
    assert reinstalled["given"].get("probe_renamed") == ["nb2pipe-probe-one"]

    cached.write_text("{not json")  # a damaged cache file is computed again, not trusted
    for stale in (tmp_path / "cache").glob("mlflow-*-packages-*.json"):
        stale.write_text("[1, 2]")
    damaged = _fill(tmp_path, site)
    assert damaged["computed"] and damaged["given"] == damaged["mlflow"]
