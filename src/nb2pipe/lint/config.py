"""``[tool.nb2pipe]`` in the nearest ``pyproject.toml``: the same option names as the CLI."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field

KNOWN_KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "exclude",
              "extend-exclude", "output-format", "validation", "docs-url")
#: ``[tool.nb2pipe.validation]``: data validation of ``nb2pipe run`` (docs/level1.md).
VALIDATION_KEYS = ("enabled", "drift-threshold", "strict")
DEFAULT_EXCLUDE = (".ipynb_checkpoints", ".git", ".hg", ".svn", ".venv", "venv", ".tox",
                   "node_modules", "__pycache__", "site-packages", ".nox", "build", "dist",
                   "mlruns")


class ConfigError(ValueError):
    """A configuration file nb2pipe cannot use; the message says where and how to fix it."""


@dataclass
class Settings:
    select: list[str] | None = None
    ignore: list[str] = field(default_factory=list)
    extend_select: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_EXCLUDE))
    extend_exclude: list[str] = field(default_factory=list)
    output_format: str | None = None
    #: ``[tool.nb2pipe.validation]``, with Python names (``drift_threshold``)
    validation: dict = field(default_factory=dict)
    #: where a finding's rule page is: a URL with `{code}` (the docs site's by default)
    docs_url: str | None = None
    source: str | None = None  # the pyproject.toml it came from

    @property
    def excluded(self) -> list[str]:
        """What is left out when walking folders: ``exclude`` (or the default) plus
        ``extend-exclude``, whatever their order in the file."""
        return self.exclude + self.extend_exclude

    @property
    def root(self) -> str:
        return os.path.dirname(self.source) if self.source else os.getcwd()


def find_pyproject(start: str) -> str | None:
    """The nearest ``pyproject.toml`` with a ``[tool.nb2pipe]`` table, from ``start`` upwards."""
    current = os.path.abspath(start)
    if os.path.isfile(current):
        current = os.path.dirname(current)
    while True:
        candidate = os.path.join(current, "pyproject.toml")
        if os.path.isfile(candidate):
            try:
                with open(candidate, encoding="utf-8") as handle:
                    if "[tool.nb2pipe" in handle.read():
                        return candidate
            except OSError:
                pass
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current = parent


def load_settings(start: str = ".", path: str | None = None) -> Settings:
    """Settings from ``path`` or the nearest ``pyproject.toml``; defaults if there is none."""
    path = path or find_pyproject(start)
    if path is None:
        return Settings()
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    table = data.get("tool", {}).get("nb2pipe", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nb2pipe] must be a table")
    return settings_from_table(table, path)


def settings_from_table(table: dict, path: str) -> Settings:
    settings = Settings(source=path)
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), KNOWN_KEYS, n=1, cutoff=0.4)
            hint = f"; did you mean `{close[0]}`?" if close else \
                f"; known keys: {', '.join(KNOWN_KEYS)}"
            raise ConfigError(f"{path}: unknown key `{key}` in [tool.nb2pipe]{hint}")
        if key == "per-file-ignores":
            if not isinstance(value, dict) or not all(_strings(v) for v in value.values()):
                raise ConfigError(f"{path}: `per-file-ignores` must map glob patterns to lists "
                                  f"of rule codes")
            settings.per_file_ignores = {k: list(v) for k, v in value.items()}
        elif key == "validation":
            settings.validation = _validation(value, path)
        elif key == "docs-url":
            if not isinstance(value, str) or "{code}" not in value:
                raise ConfigError(f"{path}: `docs-url` must be a string with `{{code}}` in it, "
                                  f'like docs-url = "https://docs.example.com/rules/{{code}}/"')
            settings.docs_url = value
        elif key == "output-format":
            if not isinstance(value, str):
                raise ConfigError(f"{path}: `output-format` must be a string")
            settings.output_format = value
        else:
            if not _strings(value):
                raise ConfigError(f"{path}: `{key}` must be a list of strings, like "
                                  f'{key} = ["NB1", "NB201"]')
            if key == "select":
                settings.select = list(value)
            elif key == "ignore":
                settings.ignore = list(value)
            elif key == "extend-select":
                settings.extend_select = list(value)
            elif key == "exclude":
                settings.exclude = list(value)
            elif key == "extend-exclude":
                settings.extend_exclude = list(value)
    return settings


def _validation(table, path: str) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.nb2pipe.validation] must be a table")
    found = {}
    for key, value in table.items():
        if key not in VALIDATION_KEYS:
            close = difflib.get_close_matches(key.replace("_", "-"), VALIDATION_KEYS, n=1)
            hint = f"; did you mean `{close[0]}`?" if close else \
                f"; known keys: {', '.join(VALIDATION_KEYS)}"
            raise ConfigError(f"{path}: unknown key `{key}` in [tool.nb2pipe.validation]{hint}")
        if key in ("enabled", "strict") and not isinstance(value, bool):
            raise ConfigError(f"{path}: `{key}` in [tool.nb2pipe.validation] must be true or "
                              f"false")
        if key == "drift-threshold" and (isinstance(value, bool) or not isinstance(
                value, (int, float)) or value <= 0):
            raise ConfigError(f"{path}: `drift-threshold` in [tool.nb2pipe.validation] must "
                              f"be a positive number (the PSI above which a column drifted, "
                              f"e.g. 0.2)")
        found[key.replace("-", "_")] = value
    return found


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)
