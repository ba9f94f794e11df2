"""Settings: statements that configure a library or the interpreter instead of computing
data — plotting styles and rcParams, print options, pandas options, warning filters,
``sys.path`` edits, the locale, environment variables. In a notebook they hold for every cell
after them; in a pipeline each step is a process of its own, so they must travel to every
later step, the way imports do (:mod:`nb2pipe.pipeline.build`)."""

from __future__ import annotations

import ast
from collections.abc import Callable

from nb2pipe.analysis.facts import dotted_name

#: Calls that only configure (resolved through the notebook's imports).
SETTING_CALLS = frozenset({
    "matplotlib.use", "matplotlib.rc", "matplotlib.rcParams.update", "matplotlib.style.use",
    "matplotlib.pyplot.rc", "matplotlib.pyplot.rcParams.update", "matplotlib.pyplot.style.use",
    "matplotlib.pyplot.switch_backend", "matplotlib.pyplot.ioff", "matplotlib.pyplot.ion",
    "matplotlib.rcdefaults", "matplotlib.pyplot.rcdefaults",
    "seaborn.set", "seaborn.set_theme", "seaborn.set_style", "seaborn.set_context",
    "seaborn.set_palette", "seaborn.set_color_codes",
    "numpy.set_printoptions", "numpy.seterr",
    "pandas.set_option", "pandas.reset_option", "pandas.plotting.register_matplotlib_converters",
    "warnings.filterwarnings", "warnings.simplefilter", "warnings.resetwarnings",
    "sys.path.append", "sys.path.insert", "sys.path.extend", "sys.setrecursionlimit",
    "locale.setlocale", "logging.basicConfig", "logging.disable",
    "torch.set_printoptions", "torch.set_default_dtype", "torch.set_num_threads",
    "sklearn.set_config", "tqdm.pandas", "tqdm.auto.tqdm.pandas",
    "IPython.display.set_matplotlib_formats",
    "matplotlib_inline.backend_inline.set_matplotlib_formats",
})
#: Objects whose attributes or items only configure, when assigned.
SETTING_TARGETS = ("matplotlib.rcParams", "matplotlib.pyplot.rcParams", "pandas.options",
                   "os.environ", "plotly.io.templates.default", "plotly.io.renderers.default",
                   "IPython.core.interactiveshell.InteractiveShell")


def is_setting(statement: ast.stmt, qualify: Callable[[str | None], str | None]) -> bool:
    """Whether ``statement`` only configures a library (``qualify`` resolves a dotted name
    through the notebook's imports: ``plt.rcParams`` → ``matplotlib.pyplot.rcParams``)."""
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
        name = qualify(dotted_name(statement.value.func))
        return name in SETTING_CALLS or (name or "").endswith(".setLevel") and \
            (name or "").startswith("logging.")
    if isinstance(statement, (ast.Assign, ast.AugAssign)):
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        return bool(targets) and all(_configures(t, qualify) for t in targets)
    return False


def _configures(target: ast.expr, qualify) -> bool:
    while isinstance(target, ast.Subscript):  # os.environ["X"], plt.rcParams["figure.dpi"]
        target = target.value
    name = qualify(dotted_name(target)) or ""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in SETTING_TARGETS)


def module_names_used(statement: ast.stmt) -> set[str]:
    """The names a setting reads (its modules, all being well)."""
    return {node.id for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
