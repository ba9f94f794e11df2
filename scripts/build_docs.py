"""Build the documentation site from docs/ with mkdocs-material: navigation, search, the
generated rule pages (rewritten first from the rules' docstrings), strict about links.

    python scripts/build_docs.py [--site DIR] [--no-strict]   # default: .cache/site

The mkdocs configuration is written next to the site (.cache/mkdocs.yml): the top level of
the repository stays as it is, and docs/ stays plain Markdown that reads well on GitHub too.
The layout puts docs/rules/NB203.md at rules/NB203/, which is where every finding's link
points (`nb2pipe.diagnostic.DOCS_URL`, or `docs-url` in [tool.nb2pipe]).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

NAV = [
    {"Home": "index.md"},
    {"Command line": "cli.md"},
    {"Configuration": "configuration.md"},
    {"The level-1 checklist": "maturity.md"},
    {"Tagging a notebook": "tags.md"},
    {"Converting": "convert.md"},
    {"Running": "run.md"},
    {"Level 1": "level1.md"},
    {"Kubeflow Pipelines": "kubeflow.md"},
    {"Apache Airflow 3": "airflow.md"},
    {"For Kale users": "kale.md"},
    {"JupyterLab panel": "lab.md"},
    {"Jupyter server extension": "jupyter.md"},
]


def config(site: Path, docs: Path = DOCS, for_files: bool = True) -> dict:
    from nb2pipe.lint.registry import RULES

    rules = [{"All rules": "rules/index.md"}] + [
        {f"{code} {rule.name}": f"rules/{code}.md"} for code, rule in sorted(RULES.items())]
    return {
        "site_name": "nb2pipe",
        "site_description": "From level-0 notebooks to level-1 pipelines, without leaving "
                            "Jupyter",
        "site_url": "https://nb2pipe.readthedocs.io/en/latest/",
        "docs_dir": str(docs),
        "site_dir": str(site),
        # opened from disk, a link to `rules/NB203/` shows a folder listing: link to files
        # (`rules/NB203.html`); a server (`make docs-serve`, the published site) takes folders
        "use_directory_urls": not for_files,
        "theme": {"name": "material", "features": ["navigation.sections", "search.highlight",
                                                   "content.code.copy"],
                  "palette": [{"scheme": "default", "toggle": {
                      "icon": "material/weather-night", "name": "Dark"}},
                      {"scheme": "slate", "toggle": {
                          "icon": "material/weather-sunny", "name": "Light"}}]},
        "plugins": ["search"],
        "markdown_extensions": ["tables", "admonition", "toc", "pymdownx.superfences",
                                "pymdownx.highlight"],
        "nav": NAV + [{"Rules": rules}],
        "validation": {"links": {"not_found": "warn", "anchors": "warn",
                                 "absolute_links": "info", "unrecognized_links": "warn"},
                       "nav": {"omitted_files": "warn", "not_found": "warn"}},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default=str(ROOT / ".cache" / "site"))
    parser.add_argument("--no-strict", action="store_true")
    parser.add_argument("--docs", default=str(DOCS), help="the Markdown folder (docs/)")
    parser.add_argument("--for-server", action="store_true",
                        help="links to folders (`rules/NB203/`), as a web server serves them; "
                             "without it, links to files, to open the site from disk")
    args = parser.parse_args()
    docs = Path(args.docs).resolve()
    if docs == DOCS:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "gen_rule_docs.py")],
                       check=True, stdout=subprocess.DEVNULL)
    site = Path(args.site).resolve()
    site.parent.mkdir(parents=True, exist_ok=True)
    configuration = site.parent / "mkdocs.yml"
    configuration.write_text(json.dumps(config(site, docs, not args.for_server), indent=1)
                             + "\n")  # JSON is YAML
    command = [sys.executable, "-m", "mkdocs", "build", "-f", str(configuration)]
    if not args.no_strict:
        command.append("--strict")
    import os

    done = subprocess.run(command, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    if done.returncode == 0:
        if args.for_server:
            print(f"Built the documentation site in {site}, for a web server (links to "
                  f"folders): serve it with `make docs-serve`, then open http://127.0.0.1:8000/")
        else:
            print(f"Built the documentation site in {site}, to open from disk (links to "
                  f"files): open {site / 'index.html'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
