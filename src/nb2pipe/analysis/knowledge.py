"""What the rules know about the data-science libraries: randomness, estimators, trackers.

Names are fully qualified (``numpy.random.seed``); calls are matched after resolving the
notebook's import aliases (:meth:`nb2pipe.analysis.NotebookAnalysis.qualify`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property


@dataclass(frozen=True)
class RandomSource:
    """A global random number generator: the calls that draw from it and those that seed it."""

    name: str  # how users call the library
    module: str
    draws: frozenset[str]  # qualified call names, or prefixes ending in "."
    seeds: frozenset[str]
    seed_call: str  # what the fix writes, with {alias} and {seed}
    skip: frozenset[str] = frozenset()

    def draws_from(self, qualified: str) -> bool:
        if not qualified.startswith(self.module) or qualified in self.seeds:
            return False
        if qualified not in self.draws and not qualified.startswith(self._draw_prefixes):
            return False
        return qualified not in self.skip and not qualified.startswith(self._skip_prefixes)

    @cached_property
    def _draw_prefixes(self) -> tuple[str, ...]:
        return tuple(d for d in self.draws if d.endswith("."))

    @cached_property
    def _skip_prefixes(self) -> tuple[str, ...]:
        return tuple(s + "." for s in self.skip)


#: Seeding calls that seed several generators at once.
UNIVERSAL_SEEDERS = frozenset({
    "keras.utils.set_random_seed", "tensorflow.keras.utils.set_random_seed",
    "pytorch_lightning.seed_everything", "lightning.seed_everything",
    "lightning.pytorch.seed_everything", "transformers.set_seed", "accelerate.utils.set_seed",
    "fastai.torch_core.set_seed", "lightning_fabric.utilities.seed.seed_everything",
})

#: Layers whose weights start random (or that drop units at random): building a network
#: draws from the framework's generator.
KERAS_RANDOM_LAYERS = frozenset({
    "Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose",
    "Conv3DTranspose", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv2D", "LSTM", "GRU",
    "SimpleRNN", "ConvLSTM2D", "Embedding", "MultiHeadAttention", "Dropout", "SpatialDropout1D",
    "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "RandomFlip", "RandomRotation", "RandomZoom", "RandomCrop", "RandomTranslation",
    "RandomContrast",
})
TORCH_RANDOM_LAYERS = frozenset({
    "Linear", "Bilinear", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d",
    "ConvTranspose3d", "LSTM", "GRU", "RNN", "LSTMCell", "GRUCell", "RNNCell", "Embedding",
    "EmbeddingBag", "MultiheadAttention", "Transformer", "TransformerEncoderLayer",
    "TransformerDecoderLayer", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
})

RANDOM_SOURCES = (
    # Keras 3 on its own: its layers draw from the backend's generator, which only its own
    # seeder reaches.
    RandomSource(
        "keras", "keras", frozenset(f"keras.layers.{layer}" for layer in KERAS_RANDOM_LAYERS),
        frozenset({"keras.utils.set_random_seed"}), "{alias}.utils.set_random_seed({seed})"),
    RandomSource(
        "numpy", "numpy", frozenset({"numpy.random."}),
        frozenset({"numpy.random.seed"}), "{alias}.random.seed({seed})",
        skip=frozenset({"numpy.random.get_state", "numpy.random.set_state",
                        "numpy.random.SeedSequence", "numpy.random.Generator",
                        "numpy.random.PCG64", "numpy.random.MT19937", "numpy.random.Philox",
                        "numpy.random.SFC64", "numpy.random.BitGenerator"})),
    RandomSource(
        "random", "random",
        frozenset({"random.random", "random.randint", "random.choice", "random.choices",
                   "random.shuffle", "random.sample", "random.uniform", "random.gauss",
                   "random.randrange", "random.normalvariate", "random.betavariate",
                   "random.expovariate", "random.triangular", "random.getrandbits",
                   "random.lognormvariate", "random.vonmisesvariate", "random.randbytes"}),
        frozenset({"random.seed"}), "{alias}.seed({seed})"),
    RandomSource(
        "torch", "torch",
        frozenset({"torch.rand", "torch.randn", "torch.randint", "torch.randperm",
                   "torch.normal", "torch.bernoulli", "torch.multinomial", "torch.rand_like",
                   "torch.randn_like", "torch.randint_like", "torch.utils.data.random_split",
                   "torch.nn.init."}) | frozenset(
            f"torch.nn.{layer}" for layer in TORCH_RANDOM_LAYERS),
        frozenset({"torch.manual_seed", "torch.cuda.manual_seed", "torch.cuda.manual_seed_all",
                   "torch.random.manual_seed"}), "{alias}.manual_seed({seed})",
        skip=frozenset({"torch.nn.init.zeros_", "torch.nn.init.ones_", "torch.nn.init.constant_",
                        "torch.nn.init.eye_", "torch.nn.init.dirac_",
                        "torch.nn.init.calculate_gain"})),
    RandomSource(
        "tensorflow", "tensorflow", frozenset({"tensorflow.random."}) | frozenset(
            f"tensorflow.keras.layers.{layer}" for layer in KERAS_RANDOM_LAYERS),
        frozenset({"tensorflow.random.set_seed", "tensorflow.set_random_seed",
                   "tensorflow.compat.v1.set_random_seed"}), "{alias}.random.set_seed({seed})",
        skip=frozenset({"tensorflow.random.Generator", "tensorflow.random.get_global_generator",
                        "tensorflow.random.set_global_generator"})),
)

#: top-level module → its random source (every draw and seed of a source is in its module)
SOURCE_OF_MODULE = {source.module: source for source in RANDOM_SOURCES}
#: Seeders that also seed another source: Keras 2 draws from TensorFlow's generator, and
#: Keras 3 makes its default seeds with Python's `random`.
ALSO_SEEDS = {
    "tensorflow.random.set_seed": "keras", "tensorflow.set_random_seed": "keras",
    "tensorflow.compat.v1.set_random_seed": "keras", "random.seed": "keras",
}

#: scikit-learn callables whose results depend on ``random_state``; value: a condition on the
#: call's keywords under which they are random (``None``: always).
SKLEARN_RANDOM: dict[str, tuple[str, tuple] | None] = {
    name: None for name in (
        "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
        "ExtraTreesRegressor", "GradientBoostingClassifier", "GradientBoostingRegressor",
        "DecisionTreeClassifier", "DecisionTreeRegressor", "ExtraTreeClassifier",
        "ExtraTreeRegressor", "KMeans", "MiniBatchKMeans", "BisectingKMeans", "SGDClassifier",
        "SGDRegressor", "SGDOneClassSVM", "MLPClassifier", "MLPRegressor", "ShuffleSplit",
        "StratifiedShuffleSplit", "GroupShuffleSplit", "RepeatedKFold",
        "RepeatedStratifiedKFold", "RandomizedSearchCV", "IsolationForest",
        "BaggingClassifier", "BaggingRegressor", "AdaBoostClassifier", "AdaBoostRegressor",
        "RandomTreesEmbedding", "TSNE", "TruncatedSVD", "GaussianMixture",
        "BayesianGaussianMixture", "Perceptron", "PassiveAggressiveClassifier",
        "PassiveAggressiveRegressor", "RANSACRegressor", "GaussianRandomProjection",
        "SparseRandomProjection", "permutation_importance", "make_classification",
        "make_regression", "make_blobs", "make_moons", "make_circles", "resample", "shuffle",
        "HalvingRandomSearchCV", "IterativeImputer",
        # random functions, not only estimators: feature scores estimated with random
        # nearest neighbours, permutations, generated data sets
        "mutual_info_classif", "mutual_info_regression", "make_s_curve", "make_swiss_roll",
        "make_gaussian_quantiles", "make_hastie_10_2", "make_multilabel_classification",
        "make_friedman1", "make_friedman2", "make_friedman3", "make_low_rank_matrix",
        "make_sparse_coded_signal", "make_sparse_spd_matrix", "make_spd_matrix",
        "make_sparse_uncorrelated", "make_biclusters", "make_checkerboard",
        "SpectralClustering", "LatentDirichletAllocation", "FastICA", "MDS",
        "SpectralEmbedding", "HistGradientBoostingClassifier",
        "HistGradientBoostingRegressor",
    )
}
SKLEARN_RANDOM.update({
    "train_test_split": ("shuffle", (True, None)),
    "KFold": ("shuffle", (True,)),
    "StratifiedKFold": ("shuffle", (True,)),
    "SVC": ("probability", (True,)),
    "NuSVC": ("probability", (True,)),
    "LogisticRegression": ("solver", ("sag", "saga", "liblinear")),
    "Ridge": ("solver", ("sag", "saga")),
    "Lasso": ("selection", ("random",)),
    "ElasticNet": ("selection", ("random",)),
    "PCA": ("svd_solver", ("randomized", "arpack")),
    "KernelPCA": ("eigen_solver", ("randomized", "arpack")),
    "NMF": ("init", ("random", "nndsvdar")),
    "DummyClassifier": ("strategy", ("stratified", "uniform")),
    "learning_curve": ("shuffle", (True,)),
})

#: The functions that split data into training and test parts.
TRAIN_TEST_SPLITS = frozenset({"sklearn.model_selection.train_test_split"})

#: Modules whose presence means the notebook trains models.
ML_MODULES = frozenset({
    "sklearn", "xgboost", "lightgbm", "catboost", "tensorflow", "keras", "torch",
    "statsmodels", "prophet", "pytorch_lightning", "lightning", "transformers", "fastai",
    "mxnet", "h2o", "sktime", "darts", "pycaret", "autogluon", "flaml", "surprise",
    "gensim", "imblearn", "jax", "flax", "optuna",
})
#: Modules that log runs to an experiment tracker.
TRACKER_MODULES = frozenset({
    "mlflow", "wandb", "neptune", "neptune_client", "comet_ml", "clearml", "dvclive", "aim",
    "sacred", "guild", "tensorboardX", "polyaxon", "determined", "trains", "dagshub",
    "tensorboard", "vertexai", "sagemaker", "azureml",
})
TRACKER_CALLS = frozenset({
    "torch.utils.tensorboard.SummaryWriter", "tensorflow.keras.callbacks.TensorBoard",
    "keras.callbacks.TensorBoard", "tensorflow.summary.create_file_writer",
    "pytorch_lightning.loggers", "lightning.pytorch.loggers",
})

#: Keyword arguments that are not hyperparameters.
NOT_HYPERPARAMETERS = frozenset({
    "random_state", "seed", "n_jobs", "verbose", "verbosity", "copy", "warm_start",
    "cv", "n_splits", "shuffle", "test_size", "train_size", "validation_split",
    "workers", "use_multiprocessing", "nthread", "silent", "device", "gpu_id", "thread_count",
    "logging_level", "num_workers", "steps_per_epoch", "validation_steps", "initial_epoch",
    "class_weight", "sample_weight", "n_iter_no_change_report", "dtype", "axis",
})
#: Qualified-name prefixes whose calls take hyperparameters.
HYPERPARAMETER_CALLS = ("sklearn.", "xgboost.", "lightgbm.", "catboost.", "torch.optim.",
                        "tensorflow.keras.optimizers.", "keras.optimizers.",
                        "tensorflow.optimizers.")
NOT_HYPERPARAMETER_MODULES = ("sklearn.metrics", "sklearn.datasets", "sklearn.model_selection",
                              "sklearn.utils", "sklearn.inspection", "sklearn.preprocessing",
                              "sklearn.feature_extraction", "sklearn.impute",
                              "sklearn.compose", "sklearn.pipeline")
#: Keywords of ``model.fit(...)`` that are training hyperparameters.
FIT_HYPERPARAMETERS = frozenset({"epochs", "batch_size", "learning_rate", "lr"})

MODEL_EXTENSIONS = (".pkl", ".pickle", ".joblib", ".sav", ".model", ".h5", ".hdf5", ".keras",
                    ".pt", ".pth", ".onnx", ".ckpt", ".pb", ".bin", ".cbm", ".ubj", ".mdl")
_MODEL_WORDS = re.compile(
    r"(?:^|_)(model|models|clf|classifier|regressor|estimator|pipe|pipeline|net|network|knn|"
    r"svm|svc|svr|rf|xgb|lgb|lgbm|gbm|gbc|gbr|tree|forest|reg|logreg|lr|kmeans|booster|learner|"
    r"predictor|scaler|encoder|vectorizer|vectoriser|transformer|tokenizer|tfidf|nb|mlp|"
    r"cnn|rnn|lstm|gru|bert|best)(?:$|_|\d)", re.IGNORECASE)


def looks_like_model(name: str | None) -> bool:
    """Whether a variable or file name suggests a trained model (``clf``, ``rf_model``)."""
    return bool(name) and bool(_MODEL_WORDS.search(name.rsplit("/", 1)[-1].split(".")[0]))


#: Import names whose distribution is called something else.
DISTRIBUTIONS = {
    "sklearn": "scikit-learn", "cv2": "opencv-python", "PIL": "pillow", "yaml": "pyyaml",
    "bs4": "beautifulsoup4", "skimage": "scikit-image", "dateutil": "python-dateutil",
    "Crypto": "pycryptodome", "dotenv": "python-dotenv", "attr": "attrs", "google": "google",
    "docx": "python-docx", "pptx": "python-pptx", "serial": "pyserial", "usb": "pyusb",
    "OpenSSL": "pyopenssl", "jwt": "pyjwt", "magic": "python-magic", "git": "gitpython",
    "tensorflow_hub": "tensorflow-hub", "mpl_toolkits": "matplotlib",
    "pylab": "matplotlib", "pandas_profiling": "pandas-profiling",
    "ydata_profiling": "ydata-profiling",
    "umap": "umap-learn", "hdbscan": "hdbscan", "Levenshtein": "python-levenshtein",
    "fitz": "pymupdf", "telegram": "python-telegram-bot", "slugify": "python-slugify",
    "lightning": "lightning", "pytorch_lightning": "pytorch-lightning", "imblearn":
    "imbalanced-learn", "wx": "wxpython", "sentencepiece": "sentencepiece",
    "tensorflow_datasets": "tensorflow-datasets", "keras_tuner": "keras-tuner",
}
#: Python 2's standard library modules that Python 3 renamed or dropped: never third-party.
PYTHON2_STDLIB = frozenset({
    "cPickle", "cStringIO", "StringIO", "urllib2", "urlparse", "httplib", "cookielib", "Cookie",
    "ConfigParser", "Queue", "SocketServer", "SimpleHTTPServer", "BaseHTTPServer",
    "CGIHTTPServer", "HTMLParser", "htmlentitydefs", "xmlrpclib", "Tkinter", "tkMessageBox",
    "tkFileDialog", "ttk", "commands", "copy_reg", "__builtin__", "thread", "dummy_thread",
    "anydbm", "dbhash", "whichdb", "robotparser", "UserDict", "UserList", "UserString",
    "md5", "sha", "sets", "exceptions", "new", "popen2", "repr", "markupbase",
})
#: Python 2's builtins that Python 3 dropped → what to use instead.
PYTHON2_BUILTINS = {
    "xrange": "`range`", "raw_input": "`input`", "unicode": "`str`", "basestring": "`str`",
    "long": "`int`", "unichr": "`chr`", "reduce": "`functools.reduce`", "file": "`open`",
    "execfile": "`exec(open(path).read())`", "cmp": "`(a > b) - (a < b)`",
    "buffer": "`memoryview`", "intern": "`sys.intern`", "apply": "`f(*args, **kwargs)`",
}

#: Always there in a Jupyter kernel: never an undeclared dependency.
KERNEL_MODULES = frozenset({"IPython", "ipykernel", "__future__"})

#: Modules whose import changes nothing that code not naming them can see (no registry filled,
#: no style, option or compiler flag set): a step that names none of their bindings may leave
#: their import out (:mod:`nb2pipe.pipeline.step_imports`). Packages count with their
#: submodules but those in :data:`NOT_INERT`. Left out on purpose: plotting libraries (styles,
#: colormaps and backends set on import), ``__future__`` (IPython keeps its flags for later
#: cells), modules that act on import (``this``, ``antigravity``, ``readline``), and every
#: package whose effects were not checked (statsmodels, tqdm…): those are always imported.
INERT_MODULES = frozenset({
    "numpy", "pandas", "scipy", "sklearn", "joblib",
    "abc", "argparse", "array", "base64", "bisect", "bz2", "calendar", "cmath", "codecs",
    "collections", "concurrent", "configparser", "contextlib", "copy", "csv", "dataclasses",
    "datetime", "decimal", "difflib", "enum", "fnmatch", "fractions", "functools", "gc",
    "getpass", "glob", "gzip", "hashlib", "heapq", "hmac", "html", "inspect", "io",
    "itertools", "json", "locale", "logging", "lzma", "math", "numbers", "operator", "os",
    "pathlib", "pickle", "platform", "pprint", "queue", "random", "re", "secrets", "shutil",
    "socket", "statistics", "string", "struct", "subprocess", "sys", "tarfile", "tempfile",
    "textwrap", "threading", "time", "timeit", "traceback", "types", "typing", "unicodedata",
    "urllib", "uuid", "warnings", "weakref", "zipfile", "zlib",
})
#: Submodules of inert packages whose import does something: scikit-learn's switches
#: (``from sklearn.experimental import enable_iterative_imputer`` makes a class importable).
NOT_INERT = ("sklearn.experimental",)


def is_inert(module: str) -> bool:
    """Whether importing ``module`` changes nothing that code not naming it can see."""
    if any(module == m or module.startswith(m + ".") for m in NOT_INERT):
        return False
    return module.partition(".")[0] in INERT_MODULES
