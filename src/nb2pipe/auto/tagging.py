"""Writing the proposal: role and ``step:`` tags, ``prev:`` where two steps make a name a
later one reads, and a ``pipeline-metrics`` cell for the scores the work computes."""

from __future__ import annotations

import ast
import re

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
                    if assignment.top and (self._score_name(assignment.value, facts) or
                                           _METRIC_NAME.fullmatch(assignment.name) and
                                           _numeric(assignment.value) and
                                           not isinstance(assignment.value, ast.Constant)):
                        found.pop(assignment.name, None)
                        found[assignment.name] = None
                new = self._name_shown_scores(index, facts, taken, found)
                if new is not None:
                    rewrites[index] = new
        names = list(found)[-8:]
        return names, rewrites

    def _score_name(self, value: ast.expr, facts) -> str | None:
        """A readable name for ``value`` when it computes a score: ``accuracy`` for
        ``accuracy_score(…)`` and for a classifier's ``.score(…)`` (``r2`` for a regressor's,
        ``score`` when the estimator is not known), ``cv_score`` for the mean of
        ``cross_val_score(…)``; ``None`` otherwise."""
        if not isinstance(value, ast.Call):
            return None
        qualified = self.analysis.qualify(dotted_name(value.func)) or ""
        last = qualified.rpartition(".")[2] if qualified else getattr(value.func, "attr", "")
        if last == "score" and isinstance(value.func, ast.Attribute):
            return self._estimator_score(value.func.value)
        if qualified.startswith("sklearn.metrics.") and \
                last.endswith(("_score", "_error", "_loss")) and \
                not last.startswith(("make_", "get_")):
            return last[:-len("_score")] if last.endswith("_score") else last
        # the mean of cross-validation scores: np.mean(cross_val_score(…)), ….mean()
        inner = value.args[0] if qualified in ("numpy.mean", "statistics.mean") and \
            value.args else value.func.value if isinstance(value.func, ast.Attribute) and \
            value.func.attr == "mean" else None
        for node in ast.walk(inner) if inner is not None else ():
            if isinstance(node, ast.Name):  # `scores = cross_val_score(…)`, then its mean
                node = next((a.value for f in self.analysis.facts.values()
                             for a in f.assignments if a.name == node.id), None)
            if isinstance(node, ast.Call) and (self.analysis.qualify(dotted_name(node.func))
                                               or "").endswith(".cross_val_score"):
                return "cv_score"
        return None

    def _estimator_score(self, receiver: ast.expr) -> str:
        """What ``receiver.score(X, y)`` measures, from the class the receiver was made
        from: accuracy for a classifier, R² for a regressor (scikit-learn's conventions)."""
        made = receiver
        if isinstance(receiver, ast.Name):
            made = next((a.value for facts in self.analysis.facts.values()
                         for a in facts.assignments if a.name == receiver.id), receiver)
        while isinstance(made, ast.Call) and isinstance(made.func, ast.Attribute) and \
                made.func.attr in ("fit", "set_params"):
            made = made.func.value  # `KNeighborsClassifier().fit(X, y)`
        if isinstance(made, ast.Call):
            name = (dotted_name(made.func) or "").rpartition(".")[2]
            if name.endswith(("Classifier", "SVC", "NB")) or name in (
                    "LogisticRegression", "LogisticRegressionCV", "Perceptron",
                    "RidgeClassifierCV", "LinearDiscriminantAnalysis",
                    "QuadraticDiscriminantAnalysis", "NearestCentroid"):
                return "accuracy"
            if name.endswith(("Regressor", "Regression", "SVR")) or name in (
                    "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV",
                    "Lars", "LassoLars", "BayesianRidge", "ARDRegression", "HuberRegressor",
                    "TheilSenRegressor", "KernelRidge"):
                return "r2"
        return "score"

    def _shown_scores(self, statement: ast.stmt, last: bool, facts) -> list[ast.expr]:
        """The score calls a statement prints or displays: anywhere in a ``print(…)`` (its
        arguments, f-strings, ``.format(…)``, ``%``), or the cell's last expression."""
        value = statement.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                value.func.id == "print":
            labelled = _labelled_value(value)
            if labelled is not None:  # print("Mean Absolute Error:", round(mae, 2))
                return [labelled]
            found: list[ast.Call] = []
            stack = list(reversed([*value.args, *(k.value for k in value.keywords)]))
            while stack:
                node = stack.pop()
                if isinstance(node, ast.Call) and (self._score_name(node, facts) or
                                                   self._is_report(node)):
                    found.append(node)
                    continue
                stack.extend(reversed(list(ast.iter_child_nodes(node))))
            return found
        if last and (self._score_name(value, facts) or self._is_report(value)):
            return [value]
        return []

    def _is_report(self, node: ast.expr) -> bool:
        """``classification_report(y, p)`` (as text): its accuracy and macro F1 become
        metrics."""
        return isinstance(node, ast.Call) and (
            self.analysis.qualify(dotted_name(node.func)) or "").endswith(
                "metrics.classification_report") and \
            not any(k.arg == "output_dict" for k in node.keywords)

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

        def fresh(base: str, metric: bool = True) -> str:
            name, n = base, 2
            while name in taken or name in found:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            if metric:
                found[name] = None
            return name

        edits = []  # (first line, last line, new text), bottom up
        for statement in tree.body:
            if not isinstance(statement, ast.Expr):
                continue
            calls = self._shown_scores(statement, statement is tree.body[-1], facts)
            text = ast.get_source_segment(source, statement)
            end = statement.end_lineno or statement.lineno
            if not calls or text is None or \
                    "".join(lines[statement.lineno - 1:end]).strip() != text.strip():
                continue  # it shares its lines (`a; print(b)`, a comment): left as it is
            parts = [ast.get_source_segment(source, call) for call in calls]
            if any(part is None or part not in text for part in parts):
                continue  # (an f-string whose inner positions Python does not give)
            before, after = [], []
            replaced = text
            for call, part in zip(calls, parts):
                if self._is_report(call):
                    report = fresh("report", metric=False)
                    after.append(f"{report} = {part[:-1].rstrip()}, output_dict=True)")
                    after.append(f"{fresh('accuracy')} = {report}['accuracy']")
                    after.append(f"{fresh('f1_macro')} = {report}['macro avg']['f1-score']")
                    continue
                name = fresh(self._score_name(call, facts) or
                             _label_name(statement.value) or "score")
                before.append(f"{name} = {part}")
                replaced = replaced.replace(part, name, 1)
            edits.append((statement.lineno, end,
                          "".join(f"{line}\n" for line in [*before, replaced, *after])))
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


#: Names and printed labels that say a number is a metric.
_METRIC_WORDS = (r"(?:acc|accuracy|precision|recall|f1(?:_score)?|auc|roc_auc|r2|r_squared|"
                 r"mae|mse|rmse|mape|error|loss|score|logloss|log_loss|"
                 r"mean_absolute_error|mean_squared_error|root_mean_squared_error)")
_METRIC_NAME = re.compile(rf"(?:\w+_)?{_METRIC_WORDS}(?:_\w+)?", re.I)
_METRIC_LABEL = re.compile(
    r"\b(accuracy|precision|recall|f1|auc|r2|r\^2|r-squared|r squared|mae|mse|rmse|mape|"
    r"mean absolute error|mean squared error|root mean squared error|error|loss|score)\b",
    re.I)
#: Calls whose result is a number when their argument is (rounding, means, roots).
_NUMERIC_CALLS = frozenset({"round", "float", "abs", "mean", "sqrt", "median", "sum", "max",
                            "min", "average", "nanmean"})


def _numeric(node: ast.expr) -> bool:
    """Whether ``node`` computes a number (arithmetic, rounding, a mean), as far as its
    shape says: a metric named by its variable (``accuracy = 100 - np.mean(mape)``)."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (int, float)) and not isinstance(node.value, bool)
    if isinstance(node, ast.BinOp):
        return _numeric(node.left) or _numeric(node.right)
    if isinstance(node, ast.UnaryOp):
        return _numeric(node.operand)
    if isinstance(node, ast.Call):
        last = node.func.attr if isinstance(node.func, ast.Attribute) else \
            node.func.id if isinstance(node.func, ast.Name) else ""
        return last in _NUMERIC_CALLS
    return False


def _labelled_value(call: ast.Call) -> ast.expr | None:
    """In ``print("Mean Absolute Error:", round(np.mean(errors), 2), "degrees")``, the number
    a metric label introduces."""
    args = call.args
    for label, value in zip(args, args[1:]):
        if isinstance(label, ast.Constant) and isinstance(label.value, str) and \
                _METRIC_LABEL.search(label.value) and _numeric(value):
            return value
    return None


def _label_name(call: ast.expr) -> str | None:
    """A name from a print's metric label: ``Mean Absolute Error:`` → ``mean_absolute_error``."""
    if not isinstance(call, ast.Call):
        return None
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            match = _METRIC_LABEL.search(arg.value)
            if match:
                words = re.sub(r"[^a-z0-9]+", "_", arg.value.lower()).strip("_")
                words = "_".join(words.split("_")[:4]) or match.group(1).lower()
                return words if words.isidentifier() else "metric"
    return None
