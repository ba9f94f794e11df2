"""Build the notebooks in sample_notebooks/ (run once by a developer; the results are committed).

The clean notebooks are executed with nbclient so that their outputs are real; the level-0
notebook gets the hand-made execution history that makes it level 0 (out-of-order counts, a
saved error, an unexecuted cell).

    python scripts/build_samples.py            # needs scikit-learn, pandas, ipykernel, nbclient
    python scripts/build_samples.py diabetes_untagged.ipynb   # only that one
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent.parent / "sample_notebooks"
KERNEL = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
          "language_info": {"name": "python"}}


def code(source: str, tags=(), count=None, outputs=None):
    cell = new_code_cell(source.strip("\n"))
    if tags:
        cell.metadata["tags"] = list(tags)
    cell.execution_count = count
    cell.outputs = [nbformat.from_dict(o) for o in outputs or []]
    return cell


def md(source: str):
    return new_markdown_cell(source.strip("\n"))


def notebook(cells, ids: str):
    nb = new_notebook(cells=cells, metadata=dict(KERNEL))
    for number, cell in enumerate(nb.cells, 1):
        cell.id = f"{ids}-{number:02d}"
    return nb


def stream(text: str):
    return {"output_type": "stream", "name": "stdout", "text": text}


def level0():
    """The "before": one person's notebook, run by hand, out of order."""
    return notebook([
        md("# Breast cancer classifier\n\nQuick experiment, run cells as needed."),
        code("!pip install scikit-learn pandas", count=1,
             outputs=[stream("Requirement already satisfied: scikit-learn\n")]),
        code("import pandas as pd\nimport numpy as np", count=2),
        code('DATA_DIR = "/Users/ana/Documents/projects/cancer/data"\n'
             'WANDB_API_KEY = "3f9a1c7e5b2d4f8a9c0e1b3d5f7a9c2e4b6d8f0a"', count=3),
        code("from sklearn.datasets import load_breast_cancer\n"
             "data = load_breast_cancer(as_frame=True)\ndf = data.frame\ndf.shape", count=8,
             outputs=[{"output_type": "execute_result", "execution_count": 8, "metadata": {},
                       "data": {"text/plain": "(569, 31)"}}]),
        code('df["noise"] = np.random.rand(len(df))', count=5),
        code("X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2)",
             count=11),
        code("from sklearn.model_selection import train_test_split\n"
             'X = df.drop(columns=["target"])\ny = df["target"]', count=10),
        code("from sklearn.ensemble import RandomForestClassifier\n"
             "model = RandomForestClassifier(n_estimators=200, max_depth=6)\n"
             "model.fit(X_train, y_train)", count=12),
        code('threshold = float(input("Decision threshold? "))'),
        code("accuracy = model.score(X_test, y_test)\nprint(accuracy)", count=13,
             outputs=[stream("0.956140350877193\n")]),
        code("print(f1)", count=14, outputs=[{
            "output_type": "error", "ename": "NameError",
            "evalue": "name 'f1' is not defined",
            "traceback": ["NameError: name 'f1' is not defined"]}]),
        code('import pickle\npickle.dump(model, open("model.pkl", "wb"))', count=15),
    ], "level0")


def pipeline():
    """The "after": the same work, in order, parameterised and tagged for the converter."""
    return notebook([
        md("# Breast cancer classifier\n\nTagged for `nb2pipe convert` (Kale-style tags): "
           "`imports`, `pipeline-parameters`, `functions`, `step:NAME`, `prev:NAME`, "
           "`pipeline-metrics`."),
        code("import json\n\nimport numpy as np\nimport pandas as pd\n"
             "from sklearn.datasets import load_breast_cancer\n"
             "from sklearn.ensemble import RandomForestClassifier\n"
             "from sklearn.metrics import accuracy_score, f1_score\n"
             "from sklearn.model_selection import train_test_split", tags=["imports"]),
        code("SEED = 42\nTEST_SIZE = 0.2\nN_ESTIMATORS = 200\nMAX_DEPTH = 6",
             tags=["pipeline-parameters"]),
        code('def evaluate(model, X, y):\n    """Accuracy and F1 of `model` on `X`, `y`."""\n'
             "    predictions = model.predict(X)\n"
             '    return {"accuracy": accuracy_score(y, predictions), '
             '"f1": f1_score(y, predictions)}', tags=["functions"]),
        md("## Load the data"),
        code("np.random.seed(SEED)\ndata = load_breast_cancer(as_frame=True)\n"
             "df = data.frame\nprint(df.shape)", tags=["step:load_data"]),
        md("## Split"),
        code('X = df.drop(columns=["target"])\ny = df["target"]\n'
             "X_train, X_test, y_train, y_test = train_test_split(\n"
             "    X, y, test_size=TEST_SIZE, random_state=SEED, stratify=y)\n"
             "print(len(X_train), len(X_test))", tags=["step:split", "prev:load_data"]),
        md("## Train"),
        code("model = RandomForestClassifier(\n"
             "    n_estimators=N_ESTIMATORS, max_depth=MAX_DEPTH, random_state=SEED)\n"
             "model.fit(X_train, y_train)", tags=["step:train", "prev:split"]),
        md("## Evaluate"),
        code("scores = evaluate(model, X_test, y_test)\nprint(json.dumps(scores, indent=2))",
             tags=["step:evaluate", "prev:train"]),
        code('accuracy = scores["accuracy"]\nf1 = scores["f1"]', tags=["pipeline-metrics"]),
    ], "pipeline")


def report():
    """A papermill-style report notebook: a `parameters` cell and nothing else special."""
    return notebook([
        md("# Wine report\n\nRun with `papermill` or `nb2pipe run -p MIN_ALCOHOL=13`."),
        code("import pandas as pd\nfrom sklearn.datasets import load_wine"),
        code("MIN_ALCOHOL = 12.5\nCOLUMNS = [\"alcohol\", \"malic_acid\", \"color_intensity\"]",
             tags=["parameters"]),
        code("wine = load_wine(as_frame=True).frame\n"
             "strong = wine[wine[\"alcohol\"] >= MIN_ALCOHOL]\n"
             "print(f\"{len(strong)} of {len(wine)} wines have at least {MIN_ALCOHOL}% alcohol\")"),
        code("summary = strong[COLUMNS].describe().round(2)\nsummary"),
        code("share = len(strong) / len(wine)", tags=["metrics"]),
    ], "report")


def magics():
    """IPython syntax everywhere: magics, shell lines, captured output, help."""
    return notebook([
        md("# IPython syntax tour\n\nMagics and `!` lines that nb2pipe understands."),
        code("import os\nimport platform"),
        code("%time total = sum(range(1_000_000))\nprint(total)"),
        code("%%capture captured\nprint(\"this goes into `captured`\")"),
        code("print(captured.stdout.strip())"),
        code("files = !ls\nprint(len(files) > 0)"),
        code("!echo \"Python $(python --version 2>&1)\""),
        code("%env NB2PIPE_DEMO=1\nprint(os.environ[\"NB2PIPE_DEMO\"])"),
        code("%%time\nsquares = [n * n for n in range(10_000)]\nprint(len(squares))"),
        code("platform.python_version?"),
        code("def describe():\n    \"\"\"Where this notebook runs.\"\"\"\n"
             "    return f\"{platform.system()} {platform.python_version()}\"\n\ndescribe()"),
    ], "magics")


def untagged():
    """In order and runnable, but untagged: what `nb2pipe convert --auto` is for."""
    return notebook([
        md("# Diabetes progression\n\nA ridge regression on scikit-learn's diabetes data. "
           "It runs top to bottom but has no pipeline tags: try `nb2pipe convert --auto`."),
        code("import numpy as np\nimport pandas as pd\nfrom sklearn.datasets import load_diabetes"),
        code("ALPHA = 0.5\nTEST_SHARE = 0.25\nSEED = 7"),
        md("## Load the data"),
        code("diabetes = load_diabetes(as_frame=True)\nframe = diabetes.frame\n"
             "print(frame.shape)"),
        code("frame[\"bmi_x_bp\"] = frame[\"bmi\"] * frame[\"bp\"]\nframe.describe().T.head()"),
        md("## Split and scale\n\nThe scaler learns from the training rows only."),
        code("from sklearn.model_selection import train_test_split\n"
             "from sklearn.preprocessing import StandardScaler\n"
             "features = frame.drop(columns=[\"target\"])\n"
             "X_train, X_test, y_train, y_test = train_test_split(\n"
             "    features, frame[\"target\"], test_size=TEST_SHARE, random_state=SEED)\n"
             "scaler = StandardScaler().fit(X_train)\n"
             "X_train_s, X_test_s = scaler.transform(X_train), scaler.transform(X_test)"),
        md("## Train"),
        code("from sklearn.linear_model import Ridge\n"
             "model = Ridge(alpha=ALPHA)\nmodel.fit(X_train_s, y_train)"),
        md("## Evaluate"),
        code("def rmse(truth, predicted):\n    return float(np.sqrt(np.mean((truth - predicted) "
             "** 2)))"),
        code("from sklearn.metrics import r2_score\n"
             "predictions = model.predict(X_test_s)\n"
             "error = rmse(y_test, predictions)\nr2 = r2_score(y_test, predictions)\n"
             "print(f\"RMSE {error:.2f}, R² {r2:.3f}\")"),
    ], "untagged")


def churn_data(rows: int = 3000, seed: int = 11):
    """A synthetic customer table (the churn samples read it): tenure, charges, contract and
    payment categories, support calls; `churned` depends on them, with interactions a deeper
    forest learns better."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    contract = rng.choice(["month-to-month", "one-year", "two-year"], rows, p=[.55, .25, .2])
    payment = rng.choice(["card", "bank", "check", "electronic"], rows)
    tenure = rng.integers(1, 72, rows)
    monthly = np.round(rng.uniform(20, 120, rows), 2)
    calls = rng.poisson(1.5, rows)
    senior = rng.integers(0, 2, rows)
    score = (-1.0 + 0.025 * (monthly - 60) - 0.04 * tenure + 0.45 * calls
             + np.where(contract == "month-to-month", 1.4, np.where(contract == "one-year",
                                                                   0.0, -1.2))
             + np.where((payment == "electronic") & (senior == 1), 1.0, 0.0)
             + np.where((tenure < 12) & (monthly > 90), 1.5, 0.0))
    churned = (rng.random(rows) < 1 / (1 + np.exp(-score))).astype(int)
    return pd.DataFrame({
        "customer_id": [f"C{n:05d}" for n in range(rows)], "tenure_months": tenure,
        "monthly_charges": monthly, "total_charges": np.round(monthly * tenure, 2),
        "contract": contract, "payment": payment, "senior": senior,
        "support_calls": calls, "churned": churned})


def churn():
    """Level 0, but runnable top to bottom: constants instead of parameters, no seeds, no
    tracking. `check --fix` then `convert --auto` make it a level-1 pipeline (docs/level1.md)."""
    return notebook([
        md("# Customer churn\n\nWhich customers will leave? A random forest on last quarter's "
           "customer table. Run top to bottom."),
        code("import pandas as pd\nfrom sklearn.ensemble import RandomForestClassifier\n"
             "from sklearn.metrics import accuracy_score, f1_score\n"
             "from sklearn.model_selection import train_test_split"),
        code("TREES = 100\nDEPTH = 3"),
        md("## Load the data"),
        code("customers = pd.read_csv(\"data/churn.csv\")\nprint(customers.shape)"),
        md("## Prepare"),
        code("features = pd.get_dummies(customers.drop(columns=[\"customer_id\", \"churned\"]),\n"
             "                          columns=[\"contract\", \"payment\"])\n"
             "labels = customers[\"churned\"]"),
        md("## Split"),
        code("X_train, X_test, y_train, y_test = train_test_split(features, labels, "
             "test_size=0.25)"),
        md("## Train"),
        code("model = RandomForestClassifier(n_estimators=TREES, max_depth=DEPTH)\n"
             "model.fit(X_train, y_train)"),
        md("## Evaluate"),
        code("predictions = model.predict(X_test)\naccuracy = accuracy_score(y_test, predictions)\n"
             "f1 = f1_score(y_test, predictions)\nprint(f\"accuracy {accuracy:.3f}, f1 {f1:.3f}\")"),
    ], "churn")


def execute(nb, cwd: Path):
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def main() -> int:
    HERE.mkdir(exist_ok=True)
    built = {"level0_classifier.ipynb": level0(), "classifier_pipeline.ipynb": pipeline(),
             "wine_report.ipynb": report(), "magics_tour.ipynb": magics(),
             "diabetes_untagged.ipynb": untagged(), "churn_level0.ipynb": churn()}
    (HERE / "data").mkdir(exist_ok=True)
    churn_data().to_csv(HERE / "data" / "churn.csv", index=False)
    chosen = [a for a in sys.argv[1:] if not a.startswith("--")]
    for name, nb in built.items():
        if chosen and name not in chosen:
            continue
        if name != "level0_classifier.ipynb" and "--no-execute" not in sys.argv:
            execute(nb, HERE)
        nb.metadata = dict(KERNEL)
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
        print("wrote", HERE / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
