"""The documentation site: `make docs` builds it from docs/ with mkdocs-material, strictly
(a broken internal link fails the build), and every finding's link has its page there."""

import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

from nb2pipe.diagnostic import DOCS_URL, rule_url
from nb2pipe.lint.registry import RULES

ROOT = Path(__file__).resolve().parent.parent
BUILD = [sys.executable, str(ROOT / "scripts" / "build_docs.py")]


def test_the_site_builds_strictly_with_a_page_for_every_rule_link(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(BUILD + ["--site", str(site)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    base = urlparse(DOCS_URL.format(code="X")).path.split("/rules/")[0]  # /en/latest
    for code in RULES:
        path = urlparse(rule_url(code)).path[len(base):].strip("/")  # rules/NB203
        page = site / (path + ".html")
        assert page.exists(), f"{rule_url(code)} has no page in the site ({page})"
        assert code in page.read_text(encoding="utf-8")
    assert (site / "level1.html").exists() and (site / "search").is_dir()
    assert "open from disk" in done.stdout
    # opened from disk, links lead to files, not folder listings: click through a few
    import re

    page = site / "index.html"
    for _ in range(4):
        links = [h for h in re.findall(r'href="([^"#?]+)"', page.read_text(encoding="utf-8"))
                 if not h.startswith(("http", "mailto:", "data:")) and h.endswith(".html")]
        assert links, page
        target = (page.parent / links[len(links) // 2]).resolve()
        assert target.is_file(), f"{page} links to {target}, which is not a file"
        page = target


def test_the_site_for_a_server_links_to_folders(tmp_path):
    site = tmp_path / "site"
    done = subprocess.run(BUILD + ["--site", str(site), "--for-server"], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (site / "rules" / "NB203" / "index.html").exists()
    assert "make docs-serve" in done.stdout


def test_a_broken_internal_link_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    shutil.copytree(ROOT / "docs", docs)
    page = docs / "run.md"
    page.write_text(page.read_text() + "\nSee [the missing page](missing.md).\n")
    done = subprocess.run(BUILD + ["--site", str(tmp_path / "site"), "--docs", str(docs)],
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "missing.md" in done.stdout + done.stderr


def test_rule_links_follow_docs_url_and_the_human_output_names_the_offline_page(tmp_path):
    import json

    from nb2pipe.diagnostic import set_docs_url
    from tests.helpers import run_cli, write_notebook

    write_notebook(tmp_path / "nb.ipynb", "# %%\nfrom sklearn.model_selection import "
                                          "train_test_split\na, b = train_test_split(X)\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.nb2pipe]\ndocs-url = "https://intranet.example/nb2pipe/{code}.html"\n')
    try:
        code, out, _ = run_cli("check", tmp_path / "nb.ipynb", "--select", "NB203",
                               "--output-format", "json")
        assert json.loads(out)["diagnostics"][0]["url"] == \
            "https://intranet.example/nb2pipe/NB203.html"
        code, out, err = run_cli("check", tmp_path / "nb.ipynb", "--select", "NB203")
        assert "`nb2pipe rule NB203` (offline), or https://intranet.example/nb2pipe/NB203.html" \
            in err
        (tmp_path / "pyproject.toml").write_text('[tool.nb2pipe]\ndocs-url = "https://x/"\n')
        code, _, err = run_cli("check", tmp_path / "nb.ipynb")
        assert code == 2 and "`docs-url` must be a string with `{code}` in it" in err
    finally:
        set_docs_url(None)


def test_no_dead_link_in_the_readme_or_architecture():
    """The site build checks docs/; the README and ARCHITECTURE.md sit outside it: their
    relative links (and anchors) must name files and headings that exist."""
    import re

    def anchors(page: Path) -> set[str]:
        return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in page.read_text(encoding="utf-8").splitlines()
                if line.startswith("#")}

    dead = []
    for source in (ROOT / "README.md", ROOT / "ARCHITECTURE.md"):
        for target in re.findall(r"\]\(([^)\s]+)\)", source.read_text(encoding="utf-8")):
            if urlparse(target).scheme:
                continue
            path, _, anchor = target.partition("#")
            page = (source.parent / path) if path else source
            if not page.exists() or (anchor and anchor not in anchors(page)):
                dead.append(f"{source.name}: {target}")
    assert dead == []
