"""What is installed is read once, and read again when a package is installed meanwhile."""

import sys

from nb2pipe.analysis import installed


def test_a_package_installed_meanwhile_is_seen(tmp_path, monkeypatch):
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    assert installed.version("nb2pipe_probe_dist") is None
    assert "nb2pipe_probe" not in installed.packages_distributions()
    # as pip would: a module and its dist-info appear in a folder of sys.path
    (folder / "nb2pipe_probe").mkdir()
    (folder / "nb2pipe_probe" / "__init__.py").write_text("")
    info = folder / "nb2pipe_probe_dist-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: nb2pipe_probe_dist\n"
                                   "Version: 1.2.3\n")
    (info / "top_level.txt").write_text("nb2pipe_probe\n")
    assert installed.version("nb2pipe_probe_dist") == "1.2.3"
    assert installed.packages_distributions()["nb2pipe_probe"] == ["nb2pipe_probe_dist"]


def test_the_answers_are_kept_while_nothing_changes(monkeypatch):
    installed.packages_distributions()
    calls = []
    from importlib import metadata

    monkeypatch.setattr(metadata, "packages_distributions", lambda: calls.append(1) or {})
    installed.packages_distributions()
    assert calls == []  # not read again
    monkeypatch.setattr(sys, "path", sys.path + ["/nonexistent-nb2pipe-folder"])
    installed.packages_distributions()
    assert calls == [1]  # sys.path changed: read again
