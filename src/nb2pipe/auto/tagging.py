"""Writing the proposal: role and ``step:`` tags, ``prev:`` where two steps make a name a
later one reads, and a ``pipeline-metrics`` cell for the scores the work computes."""

from __future__ import annotations

import ast

from nb2pipe.analysis.facts import dotted_name
from nb2pipe.auto.model import Proposal, ProposedStep, Work
from nb2pipe.editor import NotebookEditor


class Tagging:
    """The tags of a :class:`~nb2pipe.auto.proposer.Proposer`."""

    def tagged(self, groups: list[Work], names: list[str]):
        editor = NotebookEditor(self.notebook)
        for role, cells in self.roles.items():
            if role in ("parameters", "metrics"):
                continue
            for index in cells:
                editor.add_tags(index, [role])
        for group, name in zip(groups, names):
            for index in group.cells:
                editor.add_tags(index, [f"step:{name}"])
        self._order_producers(editor, groups, names)
        metrics = self.metric_names(groups)
        if metrics and not self.roles["metrics"]:
            editor.insert_cell(len(editor.cells), "\n".join(f"print({m})" for m in metrics),
                               ("pipeline-metrics",))
        return editor

    def metric_names(self, groups: list[Work]) -> list[str]:
        """Names the work assigns a score to (``acc = accuracy_score(…)``, ``model.score(…)``):
        the pipeline's metrics, logged to the tracker."""
        found: dict[str, None] = {}
        for group in groups:
            for index in group.cells:
                for assignment in self.facts(index).assignments:
                    value = assignment.value
                    if not assignment.top or not isinstance(value, ast.Call):
                        continue
                    qualified = self.analysis.qualify(dotted_name(value.func)) or ""
                    last = qualified.rpartition(".")[2] if qualified else \
                        getattr(value.func, "attr", "")
                    if last == "score" or (
                            qualified.startswith("sklearn.metrics.") and
                            last.endswith(("_score", "_error", "_loss")) and
                            not last.startswith(("make_", "get_"))):
                        found.pop(assignment.name, None)
                        found[assignment.name] = None
        return list(found)[-8:]

    def _order_producers(self, editor, groups: list[Work], names: list[str]) -> None:
        """``prev:`` tags where two steps produce a name a later step reads, so the later
        producer runs after the earlier one (as it does in the notebook)."""
        produced = []
        for group in groups:
            names_made = set(self.analysis.binds(group.cells))
            for index in group.cells:
                names_made |= set(self.facts(index).mutated)
            produced.append(names_made - self.analysis.module_names)
        needed = [set(self.analysis.needs(g.cells)) for g in groups]
        ancestors: list[set[int]] = []
        prev: list[set[int]] = [set() for _ in groups]
        for position in range(len(groups)):
            parents = set()
            for name in sorted(needed[position]):
                makers = [k for k in range(position) if name in produced[k]]
                if makers:
                    parents.add(makers[-1])
            ancestors.append(set())
            for parent in parents:
                ancestors[position] |= {parent} | ancestors[parent]
        for position in range(len(groups)):
            for name in sorted(needed[position]):  # (in a set order the edges would vary)
                makers = [k for k in range(position) if name in produced[k]]
                for k in range(len(makers) - 1):
                    later, earlier = makers[k + 1], makers[k]
                    if earlier not in ancestors[later] and earlier not in prev[later]:
                        prev[later].add(earlier)
                        ancestors[later] |= {earlier} | ancestors[earlier]
                        for other in range(later + 1, len(groups)):
                            if later in ancestors[other]:
                                ancestors[other] |= ancestors[later]
        for position, earlier in enumerate(prev):
            if earlier:
                first = groups[position].cells[0]
                editor.add_tags(first, [f"prev:{names[k]}" for k in sorted(earlier)])

    def proposal(self, groups: list[Work], names: list[str], editor) -> Proposal:
        editor.set_nb2pipe_metadata("auto", {"steps": names})
        metrics = self.metric_names(groups)
        if metrics and not self.roles["metrics"]:
            self.notes.append("added a `pipeline-metrics` cell at the end for " +
                              ", ".join(f"`{m}`" for m in metrics))
        steps = [ProposedStep(name, g.cells, g.reason) for g, name in zip(groups, names)]
        parameters = []
        for index in self.roles["parameters"]:
            parameters += list(self.analysis.cell_binds(index))
        return Proposal(editor.notebook(), steps,
                        {k: v for k, v in self.roles.items() if k != "parameters" and v},
                        parameters, self.notes)
