"""The model gate: conditions a trained model's metrics must meet before it is registered and
becomes the champion.

A condition is ``METRIC OP BOUND``: ``OP`` is ``>=``, ``>``, ``<=`` or ``<``; ``BOUND`` is a
number (``accuracy>=0.9``) or the current champion's value of the same metric, optionally
with a margin (``f1>=champion``, ``f1>=champion-0.01``, ``loss<champion+0.05``). Conditions
come from ``gate:CONDITION`` cell tags, the notebook's metadata
(``{"nb2pipe": {"gate": ["accuracy>=0.9"]}}``) and ``nb2pipe convert --gate``. All must hold.

``>=`` and ``<=`` mean what MLflow's ``MetricThreshold`` means (a threshold; a minimum absolute
improvement over the baseline model), and are checked with
``mlflow.validate_evaluation_results`` where they are expressible that way; strict
comparisons and tolerances (``champion-0.01``) are checked the same way by hand.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_CONDITION = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>>=|<=|>|<|==)\s*"
    r"(?P<bound>champion(?:\s*(?P<sign>[+-])\s*(?P<margin>[0-9.eE+-]+))?|[-+]?[0-9.eE+-]+)\s*$")


class GateError(ValueError):
    """A condition that cannot be read; the message quotes it and shows the grammar."""


@dataclass(frozen=True)
class Condition:
    """One gate condition, as parsed."""

    metric: str
    op: str  # >=, >, <=, <
    value: float | None = None  # an absolute bound
    margin: float | None = None  # against the champion: champion + margin (None: absolute)
    text: str = ""

    @property
    def relative(self) -> bool:
        return self.margin is not None

    @property
    def greater_is_better(self) -> bool:
        return self.op.startswith(">")

    def bound(self, champion: float | None) -> float | None:
        """The value the metric is compared with (``None``: no champion to compare with)."""
        if not self.relative:
            return self.value
        return None if champion is None else champion + self.margin

    def holds(self, value: float, champion: float | None) -> bool | None:
        """Whether ``value`` meets this condition; ``None`` when it compares with a champion
        and there is none."""
        bound = self.bound(champion)
        if bound is None:
            return None
        return {">=": value >= bound, ">": value > bound, "<=": value <= bound,
                "<": value < bound}[self.op]

    def metric_threshold(self) -> dict | None:
        """The ``mlflow.models.MetricThreshold`` arguments that mean exactly this condition,
        or ``None`` when MLflow's thresholds cannot say it (strict comparisons, a tolerance
        below the champion, or equality with it)."""
        if self.op not in (">=", "<="):
            return None
        if not self.relative:
            return {"threshold": self.value, "greater_is_better": self.greater_is_better}
        improvement = self.margin if self.greater_is_better else -self.margin
        if improvement <= 0:
            return None
        return {"min_absolute_change": improvement, "greater_is_better": self.greater_is_better}

    def describe(self, value: float | None, champion: float | None) -> str:
        """``accuracy 0.953 >= 0.9: met`` — for run.json, MLflow tags and the terminal."""
        if value is None:
            return f"{self.text}: the run has no metric `{self.metric}`"
        holds = self.holds(value, champion)
        if holds is None:
            return f"{self.text}: met (no champion yet)"
        bound = self.bound(champion)
        against = f"champion {champion:.4g}" + (
            f" {'+' if self.margin >= 0 else '-'} {abs(self.margin):.4g}" if self.margin else "") \
            if self.relative else f"{bound:.4g}"
        return f"{self.metric} {value:.4g} {self.op} {against}: {'met' if holds else 'NOT met'}"


def parse(text: str) -> Condition:
    """Read one condition.

    Raises:
        GateError: it is not ``METRIC OP BOUND``.
    """
    match = _CONDITION.match(text or "")
    if not match or match.group("op") == "==":
        raise GateError(f"`{text}` is not a gate condition: write METRIC OP BOUND, with OP one "
                        f"of >= > <= < and BOUND a number or `champion` (± a margin), e.g. "
                        f"`accuracy>=0.9` or `f1>=champion-0.01`")
    op = match.group("op")
    bound = match.group("bound")
    try:
        if bound.startswith("champion"):
            margin = 0.0
            if match.group("sign"):
                margin = float(match.group("margin"))
                margin = -margin if match.group("sign") == "-" else margin
            condition = Condition(match.group("metric"), op, margin=margin, text=text.strip())
        else:
            condition = Condition(match.group("metric"), op, value=float(bound),
                                  text=text.strip())
    except ValueError:
        raise GateError(f"`{text}`: `{bound}` is not a number (e.g. `accuracy>=0.9`)") from None
    number = condition.margin if condition.relative else condition.value
    if not math.isfinite(number):
        raise GateError(f"`{text}`: the bound must be a finite number")
    return condition


def parse_all(texts) -> list[Condition]:
    """Read several conditions; duplicates (same text) once."""
    return [parse(text) for text in dict.fromkeys(t.strip() for t in texts if t.strip())]
