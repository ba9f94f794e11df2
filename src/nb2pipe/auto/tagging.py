"""Writing the proposal: role and ``step:`` tags, ``prev:`` where two steps make a name a
later one reads, and a ``pipeline-metrics`` cell for the scores the work computes."""

from __future__ import annotations

import ast
import re

from nb2pipe.analysis.facts import dotted_name
from nb2pipe.analysis.training import first_training
from nb2pipe.auto.model import Proposal, ProposedStep, Work
from nb2pipe.auto.scores import (METRIC_NAME, changed_names, compiled_metrics, constructor,
                                 is_keras_model, notebook_functions, numeric,
                                 only_called_for_effect, pure, return_line, scores_itself,
                                 segment_of)
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
        ``accuracy = accuracy_score(y, p)`` then ``print(accuracy)``). With no score at all,
        the model's score on its training data (:mod:`nb2pipe.auto.scores`)."""
        found: dict[str, None] = {}
        rewrites: dict[int, str] = {}
        taken = set(self.analysis.binds([c.index for c in self.notebook.code_cells]))
        work = {i for group in groups for i in group.cells}
        self._functions = notebook_functions(self.notebook)
        extra: dict[int, list] = {}
        for name, function in list(self._functions.items()):
            if function.kind != "prints":
                continue
            placed = return_line(function, self.notebook.cells[function.cell].source)
            called = any(self._called(index, name) for index in work)
            if placed is None or not called or \
                    not only_called_for_effect(self.notebook, name):
                del self._functions[name]
                continue
            line, text = placed
            extra.setdefault(function.cell, []).append((line + 1, line, text))
        for index in sorted(work | set(extra)):
            facts = self.facts(index)
            if index in work:
                for assignment in facts.assignments:
                    if assignment.top and (self._score_name(assignment.value, facts) or
                                           METRIC_NAME.fullmatch(assignment.name) and
                                           numeric(assignment.value) and
                                           not isinstance(assignment.value, ast.Constant)):
                        found.pop(assignment.name, None)
                        found[assignment.name] = None
                for name in self._unpacked_evaluations(index):
                    found.pop(name, None)
                    found[name] = None
            new = self._name_shown_scores(index, facts, taken, found, extra.get(index, []),
                                          shown=index in work)
            if new is not None:
                rewrites[index] = new
        self.training_score = None
        if not found and not self.roles["metrics"]:
            self._training_score(work, taken, found, rewrites)
        names = list(found)[-8:]
        return names, rewrites

    def _called(self, index: int, function: str) -> bool:
        tree = self.notebook.cells[index].tree
        return tree is not None and any(
            isinstance(s, ast.Expr) and isinstance(s.value, ast.Call) and
            isinstance(s.value.func, ast.Name) and s.value.func.id == function
            for s in tree.body)

    def _unpacked_evaluations(self, index: int) -> list[str]:
        """``loss, accuracy = model.evaluate(X, y)``: the names a Keras evaluation is
        unpacked into."""
        tree = self.notebook.cells[index].tree
        names: list[str] = []
        for statement in tree.body if tree is not None else ():
            if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and \
                    isinstance(statement.targets[0], ast.Tuple) and \
                    self._evaluation(statement.value) is not None:
                names += [e.id for e in statement.targets[0].elts if isinstance(e, ast.Name)]
        return names

    def _evaluation(self, node: ast.expr) -> list[str] | None:
        """For ``model.evaluate(…)`` of a Keras model, the names of what it returns: the loss,
        then the compiled metrics (``["loss", None]`` when these are not literal)."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and
                node.func.attr == "evaluate" and
                is_keras_model(self.analysis, node.func.value)):
            return None
        compiled = compiled_metrics(self.analysis, node.func.value.id)
        return ["loss", None] if compiled is None else ["loss", *compiled]

    def _training_score(self, work: set[int], taken: set[str], found: dict[str, None],
                        rewrites: dict[int, str]) -> None:
        """No score shown: the model's score on the data it was fitted on, computed right
        after the statement that fits it (see :mod:`nb2pipe.auto.scores`)."""
        training = first_training(self.analysis)
        if training is None or training[0].index not in work or \
                training[0].index in rewrites:
            return
        cell, call = training
        node = call.node
        statement = next((s for s in cell.tree.body if any(n is node for n in ast.walk(s))),
                         None)
        if statement is None or not isinstance(node.func, ast.Attribute) or \
                isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        simple = isinstance(statement, (ast.Expr, ast.Assign)) and statement.value is node
        bound = statement.targets[0].id if simple and isinstance(statement, ast.Assign) and \
            len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name) else None
        receiver = node.func.value
        masked = cell.code.masked.source
        lines = cell.source.splitlines(keepends=True)
        end = statement.end_lineno or statement.lineno
        text = ast.get_source_segment(masked, statement)
        editable = text is not None and lines[statement.lineno - 1:end] == \
            masked.splitlines(keepends=True)[statement.lineno - 1:end]
        after: list[str] = []
        replace = None
        if is_keras_model(self.analysis, receiver) and node.func.attr == "fit":
            if not simple or not (bound or editable):
                return
            history = bound or self._fresh("history", taken, found, metric=False)
            compiled = compiled_metrics(self.analysis, receiver.id) or []
            for metric in ["loss", *compiled]:
                name = self._fresh(f"training_{metric}", taken, found)
                after.append(f'{name} = {history}.history["{metric}"][-1]')
            if bound is None:
                replace = f"{history} = {text}\n" + (
                    f"{history}\n" if statement is cell.tree.body[-1] else "")
        else:
            model = receiver.id if isinstance(receiver, ast.Name) else bound
            if model is None or node.func.attr not in ("fit", "fit_predict", "fit_transform") \
                    or not node.args or len(node.args) > 2 or node.func.attr != "fit" and \
                    len(node.args) > 1:
                return
            made = constructor(self.analysis, model, cell.index) if isinstance(receiver, ast.Name) else \
                self.analysis.qualify(dotted_name(receiver.func)) \
                if isinstance(receiver, ast.Call) else None
            if not scores_itself(made):
                return
            changed = changed_names(statement) if not simple else {bound} - {None}
            arguments = []
            hoisted = []
            for position, argument in enumerate(node.args):
                segment = ast.get_source_segment(masked, argument)
                names = {n.id for n in ast.walk(argument) if isinstance(n, ast.Name)}
                if segment is None or names & changed:
                    return
                if pure(argument):
                    arguments.append(segment)
                elif simple and editable and "\n" not in segment:
                    name = self._fresh(("fit_X", "fit_y")[position], taken, found,
                                       metric=False)
                    hoisted.append((segment, name))
                    arguments.append(name)
                else:
                    return
            displayed = isinstance(statement, ast.Expr) and statement is cell.tree.body[-1]
            if displayed and not editable:
                return  # (the fit's value is the cell's output: it must stay shown)
            if hoisted or displayed:
                replaced = text
                for segment, name in hoisted:
                    replaced = replaced.replace(segment, name, 1)
                if displayed:  # `reg.fit(X, y)` shows the model: shown again last
                    shown = self._fresh("fitted", taken, found, metric=False)
                    replaced = f"{shown} = {replaced}"
                replace = "".join(f"{n} = {s}\n" for s, n in hoisted) + replaced + "\n"
            kind = self._estimator_score(receiver)
            name = self._fresh(f"training_{kind}", taken, found)
            after.append(f"{name} = {model}.score({', '.join(arguments)})")
            if displayed:
                after.append(shown)
        block = "".join(f"{line}\n" for line in after)  # (a cell's top level: no indent)
        if replace is not None:
            lines[statement.lineno - 1:end] = [replace + block]
        else:
            if end == len(lines) and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines[end:end] = [block]
        result = "".join(lines)
        rewrites[cell.index] = result if cell.source.endswith("\n") else result.rstrip("\n")
        self.training_score = (self.number(cell.index), [n for n in found])

    @staticmethod
    def _fresh(base: str, taken: set[str], found: dict[str, None], metric: bool = True) -> str:
        name, n = base, 2
        while name in taken or name in found:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        if metric:
            found[name] = None
        return name

    def _score_name(self, value: ast.expr, facts) -> str | None:
        """A readable name for ``value`` when it computes a score: ``accuracy`` for
        ``accuracy_score(…)`` and for a classifier's ``.score(…)`` (``r2`` for a regressor's,
        ``score`` when the estimator is not known), ``cv_score`` for the mean of
        ``cross_val_score(…)``; ``None`` otherwise."""
        if not isinstance(value, ast.Call):
            return None
        qualified = self.analysis.qualify(dotted_name(value.func)) or ""
        last = qualified.rpartition(".")[2] if qualified else getattr(value.func, "attr", "")
        function = getattr(self, "_functions", {}).get(
            value.func.id if isinstance(value.func, ast.Name) else None)
        if function is not None and function.kind == "number":
            return function.names[0]  # def evaluate(…): … return accuracy
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
        """The scores a statement prints or displays: anywhere in a ``print(…)`` (its
        arguments, f-strings, ``.format(…)``, ``%``), or the cell's last expression."""
        value = statement.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
                value.func.id == "print":
            labelled = _labelled_value(value)
            if labelled is not None:  # print("Mean Absolute Error:", round(mae, 2))
                return [labelled]
            found: list[ast.expr] = []
            stack = list(reversed([*value.args, *(k.value for k in value.keywords)]))
            while stack:
                node = stack.pop()
                if self._is_score(node, facts):
                    found.append(node)
                    continue
                stack.extend(reversed(list(ast.iter_child_nodes(node))))
            return found
        if last and self._is_score(value, facts):
            return [value]
        return []

    def _is_score(self, node: ast.expr, facts) -> bool:
        """A score, a report of scores, a Keras evaluation, cross-validation scores or a
        search's best score."""
        if isinstance(node, ast.Attribute):
            return node.attr == "best_score_"
        if isinstance(node, ast.Name):  # scores = cross_val_score(…); print(scores)
            return any(self._cross_validation(a.value) for f in self.analysis.facts.values()
                       for a in f.assignments if a.name == node.id)
        return isinstance(node, ast.Call) and bool(
            self._score_name(node, facts) or self._is_report(node) or
            self._evaluation(node) is not None or self._cross_validation(node))

    def _cross_validation(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Call) and (self.analysis.qualify(
            dotted_name(node.func)) or "").endswith(".cross_val_score")

    def _is_report(self, node: ast.expr) -> bool:
        """``classification_report(y, p)`` (as text): its accuracy and macro F1 become
        metrics."""
        return isinstance(node, ast.Call) and (
            self.analysis.qualify(dotted_name(node.func)) or "").endswith(
                "metrics.classification_report") and \
            not any(k.arg == "output_dict" for k in node.keywords)

    def _name_shown_scores(self, index: int, facts, taken: set[str], found: dict[str, None],
                           extra: list = (), shown: bool = True) -> str | None:
        """The cell's source with each printed or displayed score bound to a name first, or
        ``None`` when it shows none. ``extra`` edits come from elsewhere (a scoring
        function's new ``return``). Lines with IPython syntax are left as they are."""
        cell = self.notebook.cells[index]
        tree = cell.tree
        if tree is None:
            return None
        source = cell.source
        masked = cell.code.masked.source
        lines = source.splitlines(keepends=True)
        masked_lines = masked.splitlines(keepends=True)

        def fresh(base: str, metric: bool = True) -> str:
            return self._fresh(base, taken, found, metric)

        edits = list(extra)  # (first line, last line, new text)
        for statement in tree.body if shown else ():
            if not isinstance(statement, (ast.Expr, ast.Assign)):
                continue
            text = ast.get_source_segment(masked, statement)
            end = statement.end_lineno or statement.lineno
            if text is None or lines[statement.lineno - 1:end] != \
                    masked_lines[statement.lineno - 1:end] or \
                    "".join(lines[statement.lineno - 1:end]).strip() != text.strip():
                continue  # it shares its lines (`a; print(b)`, a comment) or has a magic
            last = statement is tree.body[-1]
            new = self._scored_statement(statement, text, last, facts, fresh)
            if new is not None:
                edits.append((statement.lineno, end, new))
        if not edits:
            return None
        for first, last, text in sorted(edits, reverse=True):
            if first > len(lines) and lines and not lines[-1].endswith("\n"):
                lines[-1] += "\n"
            lines[first - 1:last] = [text]
        result = "".join(lines)
        return result if source.endswith("\n") else result.rstrip("\n")

    def _scored_statement(self, statement, text: str, last: bool, facts, fresh) -> str | None:
        """The new text of one statement that shows or keeps scores without naming them, or
        ``None``."""
        value = statement.value
        function = self._functions.get(value.func.id) if isinstance(value, ast.Call) and \
            isinstance(value.func, ast.Name) else None
        if isinstance(statement, ast.Assign):
            target = statement.targets[0] if len(statement.targets) == 1 else None
            if not isinstance(target, ast.Name):
                return None
            if function is not None and function.kind == "dict":  # m = evaluate_preds(…)
                after = [f'{fresh(key)} = {target.id}["{key}"]' for key in function.names]
                return "".join(f"{line}\n" for line in [text, *after])
            names = self._evaluation(value)
            if names is not None and len(names) > 1:  # score = model.evaluate(X, y)
                unpacked = self._unpack(names, target.id, fresh)
                return "".join(f"{line}\n" for line in [text, unpacked])
            return None
        if function is not None and function.kind in ("dict", "prints"):  # evaluate(m, X, y)
            result = fresh("evaluation", metric=False)
            after = [f'{fresh(key)} = {result}["{key}"]' for key in function.names]
            return "".join(f"{line}\n" for line in [f"{result} = {text}", *after] +
                           ([result] if last and function.kind == "dict" else []))
        if function is not None and not last:  # evaluate(…) returning its score, discarded
            return f"{fresh(function.names[0])} = {text}\n"
        calls = self._shown_scores(statement, last, facts)
        if not calls:
            return None
        before, after = [], []
        replaced = text
        for call in calls:
            if isinstance(call, ast.Name):  # `scores` (of cross_val_score) shown
                after.append(f"{fresh('cv_score')} = {call.id}.mean()")
                continue
            part = segment_of(text, statement, call)
            if part is None or part not in replaced:
                return None  # (an f-string whose inner positions Python does not give)
            if self._is_report(call):
                report = fresh("report", metric=False)
                after.append(f"{report} = {part[:-1].rstrip()}, output_dict=True)")
                after.append(f"{fresh('accuracy')} = {report}['accuracy']")
                after.append(f"{fresh('f1_macro')} = {report}['macro avg']['f1-score']")
                continue
            names = self._evaluation(call)
            if names is not None:
                result = fresh("evaluation", metric=False)
                before.append(f"{result} = {part}")
                after.append(self._unpack(names, result, fresh))
                replaced = replaced.replace(part, result, 1)
                continue
            if self._cross_validation(call):
                scores = fresh("cv_scores", metric=False)
                before.append(f"{scores} = {part}")
                after.append(f"{fresh('cv_score')} = {scores}.mean()")
                replaced = replaced.replace(part, scores, 1)
                continue
            base = "best_cv_score" if isinstance(call, ast.Attribute) else \
                self._score_name(call, facts) or _label_name(value) or "score"
            name = fresh(base)
            before.append(f"{name} = {part}")
            replaced = replaced.replace(part, name, 1)
        # the new names are bound before the statement: a displayed value stays the cell's
        # last expression (its output), and nothing they compute is printed
        return "".join(f"{line}\n" for line in [*before, *after, replaced])

    @staticmethod
    def _unpack(names: list, result: str, fresh) -> str:
        """``loss, accuracy = result`` for a Keras evaluation (``loss = result[0]`` when the
        compiled metrics are not known, ``loss = result`` when there are none)."""
        if len(names) == 1:
            return f"{fresh('loss')} = {result}"
        if None in names:
            return f"{fresh('loss')} = {result}[0]"
        return f"{', '.join(fresh(n) for n in names)} = {result}"

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
            if self.training_score is not None:
                cell, scores = self.training_score
                self.notes.append(
                    f"the notebook shows no score: cell {cell} now also records "
                    f"{', '.join(f'`{m}`' for m in scores)}, the model's score on the data it "
                    f"was fitted on (as MLflow's autolog does); evaluate it on held-out data "
                    f"and print the score to gate on that instead")
            elif rewrites:
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


_METRIC_LABEL = re.compile(
    r"\b(accuracy|precision|recall|f1|auc|r2|r\^2|r-squared|r squared|mae|mse|rmse|mape|"
    r"mean absolute error|mean squared error|root mean squared error|error|loss|score)\b",
    re.I)


def _labelled_value(call: ast.Call) -> ast.expr | None:
    """In ``print("Mean Absolute Error:", round(np.mean(errors), 2), "degrees")``, the number
    a metric label introduces."""
    args = call.args
    for label, value in zip(args, args[1:]):
        if isinstance(label, ast.Constant) and isinstance(label.value, str) and \
                _METRIC_LABEL.search(label.value) and numeric(value):
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
