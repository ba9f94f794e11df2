from nb2pipe.analysis import NotebookAnalysis
from nb2pipe.analysis.knowledge import (
    ALSO_SEEDS,
    KERAS_RANDOM_LAYERS,
    RANDOM_SOURCES,
    SOURCE_OF_MODULE,
    TORCH_RANDOM_LAYERS,
    UNIVERSAL_SEEDERS,
)
from nb2pipe.lint.rule import Context, Invalid, Rule

_GENERATORS = ("numpy.random.default_rng", "numpy.random.RandomState")


def unseeded_draws(analysis: NotebookAnalysis) -> dict:
    """For each random source drawn from and never seeded: its first draw ``(cell, call)``."""
    seeded: set[str] = set()
    draws: dict = {}
    for cell, call, qualified in analysis.qualified_calls:
        if qualified is None:
            continue
        if qualified in UNIVERSAL_SEEDERS:
            seeded.update(s.name for s in RANDOM_SOURCES)
            continue
        if qualified in _GENERATORS:
            if not (call.node.args or call.node.keywords):
                draws.setdefault("numpy", (cell, call))
            continue
        source = SOURCE_OF_MODULE.get(qualified.partition(".")[0])
        if source is None:
            continue
        if qualified in source.seeds:
            seeded.add(source.name)
            if qualified in ALSO_SEEDS:
                seeded.add(ALSO_SEEDS[qualified])
        elif source.draws_from(qualified):
            draws.setdefault(source.name, (cell, call))
    return {name: draw for name, draw in draws.items() if name not in seeded}


def draws_before_seed(analysis: NotebookAnalysis) -> dict:
    """For each random source seeded only after a draw from it: ``(cell, draw, seed cell)``.
    Only calls at a cell's top level count (a draw or a seed inside a function runs when the
    function is called, which this does not follow)."""
    events = []  # (cell index, line, column, kind, source, call)
    for index, facts in analysis.facts.items():
        for call in facts.calls:
            qualified = analysis.qualify(call.dotted)
            if qualified is None:
                continue
            where = (index, call.node.lineno, call.node.col_offset)
            if qualified in _GENERATORS:
                continue  # a generator of its own (`RandomState(1)`): not the global one
            if qualified in UNIVERSAL_SEEDERS:
                events += [(*where, "seed", s.name, call, call.in_function) for s in RANDOM_SOURCES]
                continue
            source = SOURCE_OF_MODULE.get(qualified.partition(".")[0])
            if source is None:
                continue
            if qualified in source.seeds:
                events.append((*where, "seed", source.name, call, call.in_function))
                if qualified in ALSO_SEEDS:
                    events.append((*where, "seed", ALSO_SEEDS[qualified], call,
                                   call.in_function))
            elif source.draws_from(qualified):
                events.append((*where, "draw", source.name, call, call.in_function))
    found: dict = {}
    done: set[str] = set()
    first_draw: dict = {}
    for index, _line, _col, kind, name, call, in_function in sorted(
            events, key=lambda e: e[:3]):
        if name in done:
            continue
        if kind == "seed":
            done.add(name)
            if in_function:
                continue  # seeded when the function runs: not followed
            if name in first_draw:
                draw_index, draw = first_draw[name]
                found[name] = (analysis.notebook.cells[draw_index], draw,
                               analysis.notebook.cells[index])
        elif not in_function:
            first_draw.setdefault(name, (index, call))
    return found


class MissingRandomSeed(Rule):
    """Random numbers are drawn and the generator is never seeded.

    ## What it does
    Flags the first draw from the global random number generator of `numpy`, `random`,
    `torch`, `tensorflow` or Keras (`np.random.rand`, `random.shuffle`, `torch.randn`,
    `np.random.default_rng()` without a seed, and the layers that start from random weights
    or drop units at random: `nn.Linear`, `layers.Dense`, `Dropout`…) when the notebook never
    seeds that generator (`np.random.seed`, `random.seed`, `torch.manual_seed`,
    `tf.random.set_seed`, or a seeder for all of them such as `keras.utils.set_random_seed`).
    Keras layers count as seeded by `tf.random.set_seed` (Keras 2 draws from TensorFlow) or
    `random.seed` (Keras 3 makes its default seeds with it) too.

    A draw that comes before the seed (`np.random.seed(0)` two cells after
    `np.random.shuffle(rows)`) is flagged too: the seed does not reach it. Draws and seeds
    inside functions are left out of that order (they run when the function is called).

    ## Why is this bad?
    Every run gives different numbers: different splits, initial weights and results. Nobody,
    including you next week, can reproduce the figures in the notebook.

    ## Example
    ```python
    # %%
    import numpy as np
    noise = np.random.normal(size=100)
    ```

    ## Use instead
    ```python
    # %% tags=["parameters"]
    SEED = 42
    # %%
    import numpy as np
    np.random.seed(SEED)
    noise = np.random.normal(size=100)
    ```

    ## Fix safety
    Safe. The fix adds `SEED = 42` to the parameters cell (creating one if needed) and a cell
    after the imports that seeds each generator the notebook uses. A draw before the seed has
    no automatic fix: move the seed up.
    """

    code = "NB202"
    name = "missing-random-seed"
    category = "reproducible"
    fix_safety = "safe"
    fix_title = "Seed the random number generators after the imports"
    fix_edits = "notebook"
    VALID = (
        "# %%\nimport numpy as np\nnp.random.seed(0)\n# %%\nx = np.random.rand(3)\n",
        # a generator of its own, made before the global one is seeded
        "# %%\nimport numpy as np\nrng = np.random.RandomState(1)\nx = rng.rand(3)\n"
        "# %%\nnp.random.seed(0)\ny = np.random.rand(3)\n",
        # a function that draws, defined before the seed and called after it
        "# %%\nimport numpy as np\ndef noise():\n    return np.random.rand(3)\n"
        "np.random.seed(0)\nx = noise()\n",
        "# %%\nimport numpy as np\nrng = np.random.default_rng(7)\nx = rng.normal()\n",
        "# %%\nimport keras\nimport random\nkeras.utils.set_random_seed(1)\nrandom.random()\n",
        "# %%\nimport torch\nfrom torch import nn\ntorch.manual_seed(0)\n# %%\n"
        "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.fc = nn.Linear(4, 2)\n        nn.init.zeros_(self.fc.bias)\n",
        "# %%\nimport tensorflow as tf\nfrom tensorflow.keras import layers\n"
        "tf.random.set_seed(0)\nmodel = tf.keras.Sequential([layers.Flatten(), "
        "layers.Dense(10)])\n",
        "# %%\nfrom tensorflow.keras import layers\nmodel = [layers.Flatten(), "
        "layers.MaxPooling2D(), layers.BatchNormalization()]\n",
        # Keras on TensorFlow, seeded the TensorFlow way
        "# %%\nimport keras\nimport tensorflow as tf\ntf.random.set_seed(1)\n"
        "model = keras.Sequential([keras.layers.Dense(4)])\n",
    )
    INVALID = (
        Invalid("# %%\nimport numpy as np\n# %%\nnoise = np.random.normal(size=100)\n", count=1,
                fixed='# %%\nimport numpy as np\n# %% tags=["parameters"]\n# Parameters: '
                      '`nb2pipe run -p NAME=VALUE` and papermill replace these values.\n'
                      'SEED = 42\n# %%\n# Seed the random generators once, with the seed of the parameters cell.\nnp.random.seed(SEED)\n# %%\n'
                      'noise = np.random.normal(size=100)\n'),
        Invalid("# %%\nimport random\nfrom numpy.random import rand\n# %%\nrandom.shuffle(items)\n"
                "x = rand(3)\n", count=2),
        Invalid("# %%\nimport torch.nn as nn\n# %%\nclass Net(nn.Module):\n"
                "    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(4, 2)\n", count=1,
                message="`nn.Linear()` starts from random weights, but torch's generator"),
        Invalid("# %%\nfrom tensorflow import keras\n# %%\nmodel = keras.Sequential(["
                "keras.layers.Dense(8), keras.layers.Dropout(0.2)])\n", count=1,
                message="tensorflow's generator is never seeded",
                fixed='# %%\nfrom tensorflow import keras\n# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nSEED = 42\n# %%\n# Seed the random generators once, with the seed of the parameters cell.\nimport tensorflow\n'
                      'tensorflow.random.set_seed(SEED)\n# %%\nmodel = keras.Sequential(['
                      'keras.layers.Dense(8), keras.layers.Dropout(0.2)])\n'),
        # a draw before the seed: the seed two cells later does not reach it
        Invalid("# %%\nimport numpy as np\nrows = np.arange(10)\nnp.random.shuffle(rows)\n"
                "# %%\nprint(rows)\n# %%\nnp.random.seed(0)\nx = np.random.rand(3)\n",
                count=1, message="`np.random.shuffle()` draws from numpy's generator before "
                                 "the notebook seeds it (cell 3)"),
        Invalid("# %%\nimport keras\nfrom keras import layers\n# %%\nmodel = keras.Sequential(["
                "layers.Dense(8)])\n", count=1, message="keras's generator is never seeded",
                fixed='# %%\nimport keras\nfrom keras import layers\n# %% tags=["parameters"]\n'
                      '# Parameters: `nb2pipe run -p NAME=VALUE` and papermill replace these '
                      'values.\nSEED = 42\n# %%\n# Seed the random generators once, with the seed of the parameters cell.\nkeras.utils.set_random_seed(SEED)\n'
                      '# %%\nmodel = keras.Sequential([layers.Dense(8)])\n'),
    )

    def check(self, ctx: Context):
        for name, (cell, call, seed_cell) in draws_before_seed(ctx.analysis).items():
            shown = call.dotted or call.attr
            yield self.report(
                ctx, cell, f"`{shown}()` draws from {name}'s generator before the notebook "
                           f"seeds it (cell {seed_cell.number})", node=call.node,
                help="seed it once after the imports, before the first draw", fix=False)
        for name, (cell, call) in unseeded_draws(ctx.analysis).items():
            shown = call.dotted or call.attr
            if call.attr in KERAS_RANDOM_LAYERS or call.attr in TORCH_RANDOM_LAYERS:
                does = "drops units at random" if "Dropout" in call.attr else \
                    "transforms at random" if call.attr.startswith("Random") else \
                    "starts from random weights"
            elif call.dotted and ".nn.init." in f".{call.dotted}":
                does = "draws random weights"
            else:
                does = "draws random numbers"
            yield self.report(
                ctx, cell, f"`{shown}()` {does}, but {name}'s generator is never seeded",
                node=call.node,
                help="seed it once after the imports, with the seed in the parameters cell")

    def fix(self, editor, diagnostics):
        from nb2pipe.editor import ensure_seed

        seed = ensure_seed(editor)
        analysis = NotebookAnalysis(editor.notebook())
        unseeded = unseeded_draws(analysis)
        if not unseeded:
            return
        from nb2pipe.editor import SEED_HEADER

        lines = [SEED_HEADER]  # (how NB103 knows the cell was inserted, even without ids)
        position = editor.parameters_cell() or 0
        for source in RANDOM_SOURCES:
            if source.name not in unseeded:
                continue
            alias = next((local for local, target in analysis.aliases.items()
                          if target == source.module), None)
            if alias is None:
                lines.append(f"import {source.module}")
                alias = source.module
            else:
                position = max(position, analysis.first_binding[alias].cell)
            lines.append(source.seed_call.format(alias=alias, seed=seed))
        editor.insert_cell(position + 1, "\n".join(lines))
