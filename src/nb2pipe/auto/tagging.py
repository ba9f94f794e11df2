"""Writing the proposal: role and ``step:`` tags, ``prev:`` where two steps make a name a
later one reads, and a ``pipeline-metrics`` cell for the scores the work computes."""

from __future__ import annotations

import ast

from nb2pipe.analysis.facts import dotted_name
from nb2pipe.auto.model import Proposal, ProposedStep, Work
from nb2pipe.editor import NotebookEditor

#: Tags that give a cell its role already: a comment-only cell with one is not a step's.
_KEEPS_ITS_ROLE = frozenset({"parameters", "pipeline-parameters", "metrics", "pipeline-metrics",
                             "imports", "functions", "skip"})


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
        for cell in self.notebook.code_cells:  # a comment-only cell goes with the step after it
            if any(t in _KEEPS_ITS_ROLE or t.startswith("step:") for t in cell.tags):
                continue  # (an empty parameters cell from `check --fix` stays the parameters)
            if self._only_notes(cell) and not cell.is_empty:
                after = next((n for g, n in zip(groups, names) if g.cells[0] > cell.index), None)
                if after is not None and not any(cell.index in cells
                                                 for cells in self.roles.values()):
                    editor.add_tags(cell.index, [f"step:{after}"])
        self._order_producers(editor, groups, names)
        metrics = self.metric_names(groups)
        if metrics and not self.roles["metrics"]:
            for index, text in self.named_scores(groups)[1].items():
                editor.set_source(index, text)
            editor.insert_cell(len(editor.cells), "\n".join(f"print({m})" for m in metrics),
                               ("pipeline-metrics",))
        return editor

    def metric_names(self, groups: list[Work]) -> list[str]:
        """The pipeline's metrics, logged to the tracker (and what a model gate checks): the
        names the work assigns a score to (``acc = accuracy_score(…)``), and names given to
        the scores it only prints or displays (``print(model.score(…))``)."""
        return self.named_scores(groups)[0]

    def named_scores(self, groups: list[Work]) -> tuple[list[str], dict[int, str]]:
        """The metric names, and the new source of each cell where a printed or displayed
        score is given a name (``print(accuracy_score(y, p))`` becomes
        ``accuracy = accuracy_score(y, p)`` then ``print(accuracy)``)."""
        found: dict[str, None] = {}
        rewrites: dict[int, str] = {}
        taken = set(self.analysis.binds([c.index for c in self.notebook.code_cells]))
        for group in groups:
            for index in group.cells:
                facts = self.facts(index)
                for assignment in facts.assignments:
                    if assignment.top and self._score_name(assignment.value, facts):
                        found.pop(assignment.name, None)
                        found[assignment.name] = None
                new = self._name_shown_scores(index, facts, taken, found)
                if new is not None:
                    rewrites[index] = new
        names = list(found)[-8:]
        return names, rewrites

    def _score_name(self, value: ast.expr, facts) -> str | None:
        """A readable name for ``value`` when it computes a score: ``score`` for
        ``model.score(…)``, ``accuracy`` for ``accuracy_score(…)``, ``cv_score`` for the
        mean of ``cross_val_score(…)``; ``None`` otherwise."""
        if not isinstance(value, ast.Call):
            return None
        qualified = self.analysis.qualify(dotted_name(value.func)) or ""
        last = qualified.rpartition(".")[2] if qualified else getattr(value.func, "attr", "")
        if last == "score":
            return "score"
        if qualified.startswith("sklearn.metrics.") and \
                last.endswith(("_score", "_error", "_loss")) and \
                not last.startswith(("make_", "get_")):
            return last[:-len("_score")] if last.endswith("_score") else last
        # the mean of cross-validation scores: np.mean(cross_val_score(…)), ….mean()
        inner = value.args[0] if qualified in ("numpy.mean", "statistics.mean") and \
            value.args else value.func.value if isinstance(value.func, ast.Attribute) and \
            value.func.attr == "mean" else None
        if isinstance(inner, ast.Name):
            inner = next((a.value for a in facts.assignments if a.name == inner.id), None)
        if isinstance(inner, ast.Call) and (self.analysis.qualify(dotted_name(inner.func)) or
                                            "").endswith(".cross_val_score"):
            return "cv_score"
        return None

    def _name_shown_scores(self, index: int, facts, taken: set[str],
                           found: dict[str, None]) -> str | None:
        """The cell's source with each printed or displayed score bound to a name first, or
        ``None`` when it shows none (cells with magics are left as they are)."""
        cell = self.notebook.cells[index]
        tree = cell.tree
        if tree is None or cell.code.magics:
            return None
        source = cell.source
        lines = source.splitlines(keepends=True)
        edits = []  # (first line, last line, new text), bottom up
        for statement in tree.body:
            if not isinstance(statement, ast.Expr):
                continue
            value = statement.value
            shown = value
            if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                    value.func.id == "print":
                shown = next((a for a in value.args if self._score_name(a, facts)), None)
            elif statement is not tree.body[-1]:
                continue  # only a cell's last expression is displayed
            if shown is None:
                continue
            base = self._score_name(shown, facts)
            if base is None:
                continue
            name, n = base, 2
            while name in taken or name in found:
                name, n = f"{base}_{n}", n + 1
            text = ast.get_source_segment(source, statement)
            part = ast.get_source_segment(source, shown)
            end = statement.end_lineno or statement.lineno
            if text is None or part is None or \
                    "".join(lines[statement.lineno - 1:end]).strip() != text.strip():
                continue  # it shares its lines (`a; print(b)`, a comment): left as it is
            taken.add(name)
            found[name] = None
            replaced = name if shown is value else text.replace(part, name, 1)
            edits.append((statement.lineno, statement.end_lineno or statement.lineno,
                          f"{name} = {part}\n{replaced}\n"))
        if not edits:
            return None
        for first, last, text in reversed(edits):
            lines[first - 1:last] = [text]
        result = "".join(lines)
        return result if source.endswith("\n") else result.rstrip("\n")

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
        metrics, rewrites = self.named_scores(groups)
        if metrics and not self.roles["metrics"]:
            self.notes.append("added a `pipeline-metrics` cell at the end for " +
                              ", ".join(f"`{m}`" for m in metrics))
            if rewrites:
                cells = ", ".join(str(self.number(i)) for i in sorted(rewrites))
                self.notes.append(f"gave the scores that cell{'s' if len(rewrites) > 1 else ''}"
                                  f" {cells} print{'' if len(rewrites) > 1 else 's'} or "
                                  f"display{'' if len(rewrites) > 1 else 's'} a name, so that "
                                  f"they become metrics")
        steps = [ProposedStep(name, g.cells, g.reason) for g, name in zip(groups, names)]
        parameters = []
        for index in self.roles["parameters"]:
            parameters += list(self.analysis.cell_binds(index))
        return Proposal(editor.notebook(), steps,
                        {k: v for k, v in self.roles.items() if k != "parameters" and v},
                        parameters, self.notes)
