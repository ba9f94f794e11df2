"""Finding rules by code, name or prefix, and resolving ``select``/``ignore`` lists."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from nb2pipe.lint.rule import Rule
from nb2pipe.lint.rules import ALL_RULES

RULES: dict[str, type[Rule]] = {rule.code: rule for rule in ALL_RULES}
BY_NAME: dict[str, type[Rule]] = {rule.name: rule for rule in ALL_RULES}


class SelectionError(ValueError):
    """An unknown rule code, prefix or name in a selection."""


def rule_for(key: str) -> type[Rule]:
    """The rule with code or name ``key``.

    Raises:
        SelectionError: no such rule; the message suggests the closest.
    """
    rule = RULES.get(key.upper()) or BY_NAME.get(key.lower())
    if rule is not None:
        return rule
    raise SelectionError(f"unknown rule `{key}`{_suggest(key)}")


def expand(selector: str) -> set[str]:
    """The codes a selector stands for: ``ALL``, a code, a prefix (``NB1``) or a rule name."""
    key = selector.strip()
    if not key:
        return set()
    if key.upper() == "ALL":
        return set(RULES)
    if key.lower() in BY_NAME:
        return {BY_NAME[key.lower()].code}
    codes = {code for code in RULES if code.startswith(key.upper())}
    if not codes:
        raise SelectionError(f"unknown rule selector `{key}`{_suggest(key)}")
    return codes


def resolve(select: Iterable[str] | None, extend_select: Iterable[str] = (),
            ignore: Iterable[str] = ()) -> set[str]:
    """The selected codes: ``select`` (default ``ALL``) plus ``extend_select`` minus ``ignore``."""
    codes: set[str] = set()
    for selector in (["ALL"] if select is None else select):
        codes |= expand(selector)
    for selector in extend_select:
        codes |= expand(selector)
    for selector in ignore:
        codes -= expand(selector)
    return codes


def _suggest(key: str) -> str:
    candidates = list(RULES) + list(BY_NAME)
    close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5) or \
        difflib.get_close_matches(key.upper(), candidates, n=1, cutoff=0.5)
    return f"; did you mean `{close[0]}`?" if close else "; `nb2pipe rule --all` lists the rules"
