"""Step names: from the heading above a step, else from what its code does (``train``,
``evaluate``…), else ``step_N``; never a keyword, a reserved tag word or a repeat."""

from __future__ import annotations

import keyword
import re

from nb2pipe.auto.model import Work
from nb2pipe.pipeline.tags import RESERVED

_STOP_WORDS = frozenset({"the", "a", "an", "of", "and", "to", "with", "for", "in", "on", "our",
                         "some", "step", "part", "section", "let", "s", "we", "us", "is", "at",
                         "by", "from", "into", "this", "that", "it", "its"})


class Naming:
    """The step names of a :class:`~nb2pipe.auto.proposer.Proposer`."""

    def names(self, groups: list[Work]) -> list[str]:
        taken: set[str] = set()
        names = []
        for number, group in enumerate(groups, 1):
            name = self.name_for(group, number)
            if keyword.iskeyword(name) or keyword.issoftkeyword(name):
                name += "_step"  # a heading "break": `step:break` would not be a valid name
            base, suffix = name, 2
            while name in taken or name in RESERVED:
                name = f"{base}_{suffix}"
                suffix += 1
            taken.add(name)
            names.append(name)
        return names

    def name_for(self, group: Work, number: int) -> str:
        first = group.cells[0]
        heading = self.heading_text(self.previous_code_cell(first, setup=False), first)
        if heading:
            words = [w for w in re.findall(r"[a-z0-9]+", heading.lower())
                     if w not in _STOP_WORDS]
            words = [w for w in words if not w.isdigit()] or words
            role = self.name_from_code(group)
            if len(words) > 4 and role:
                # a sentence, not a title ("If features are correlated, …"): its first
                # words would not name the step; what the code does does
                return role
            if words:
                name = "_".join(words[:3])
                return name if not name[0].isdigit() else "step_" + name
        return self.name_from_code(group) or f"step_{number}"

    def previous_code_cell(self, index: int, setup: bool = True) -> int:
        """The index of the last code cell above ``index`` with code in it (-1 if none);
        without ``setup``, cells that only define functions or import do not count (a
        heading above them is the next step's)."""
        skipped = set() if setup else {i for role in ("imports", "functions")
                                       for i in self.roles[role]}
        return max((c.index for c in self.notebook.code_cells
                    if c.index < index and not c.is_empty and not self._only_notes(c) and
                    c.index not in skipped), default=-1)

    def name_from_code(self, group: Work) -> str | None:
        calls = []
        for index in group.cells:
            facts = self.facts(index)
            calls += [(self.analysis.qualify(c.dotted) or c.dotted or "", c.attr or "")
                      for c in facts.calls]
        attrs = {a for _, a in calls}
        qualified = {q for q, _ in calls}
        if qualified and all(q.endswith(("random.seed", "manual_seed", "set_seed",
                                         "set_random_seed")) for q in qualified):
            return "seed"
        if attrs & {"fit", "train", "partial_fit", "fit_generator"} and \
                "fit_transform" not in attrs:
            return "train"
        if any(q.endswith(("train_test_split", "KFold", "StratifiedKFold")) for q in qualified):
            return "split_data"
        if attrs & {"predict", "predict_proba", "score", "evaluate"} or any(
                q.startswith("sklearn.metrics") for q in qualified):
            return "evaluate"
        if any(a.startswith(("read_", "load_")) or a in ("load", "loadtxt", "fetch_openml")
               for a in attrs):
            return "load_data"
        if attrs & {"fit_transform", "transform", "fillna", "dropna", "drop", "merge",
                    "get_dummies", "astype", "apply", "replace"}:
            return "prepare_data"
        if any(q.startswith(("matplotlib", "seaborn", "plotly")) for q in qualified) or \
                attrs & {"plot", "hist", "show", "figure", "subplots", "savefig"}:
            return "plot"
        return None
