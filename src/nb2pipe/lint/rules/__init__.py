"""The rule catalogue: one module per rule, listed here in code order."""

from nb2pipe.lint.rules.all_global_scope import AllGlobalScope
from nb2pipe.lint.rules.ambiguous_producer import AmbiguousProducer
from nb2pipe.lint.rules.cross_notebook_state import CrossNotebookState
from nb2pipe.lint.rules.defined_only_in_skipped_cell import DefinedOnlyInSkippedCell
from nb2pipe.lint.rules.error_output import ErrorOutput
from nb2pipe.lint.rules.estimator_without_random_state import EstimatorWithoutRandomState
from nb2pipe.lint.rules.execution_count_gap import ExecutionCountGap
from nb2pipe.lint.rules.hard_coded_absolute_path import HardCodedAbsolutePath
from nb2pipe.lint.rules.hard_coded_hyperparameter import HardCodedHyperparameter
from nb2pipe.lint.rules.hard_coded_secret import HardCodedSecret
from nb2pipe.lint.rules.import_not_at_top import ImportNotAtTop
from nb2pipe.lint.rules.interactive_input import InteractiveInput
from nb2pipe.lint.rules.invalid_notebook import InvalidNotebook
from nb2pipe.lint.rules.invalid_tag import InvalidTag
from nb2pipe.lint.rules.missing_random_seed import MissingRandomSeed
from nb2pipe.lint.rules.no_ci import NoCi
from nb2pipe.lint.rules.no_dependency_file import NoDependencyFile
from nb2pipe.lint.rules.no_experiment_tracking import NoExperimentTracking
from nb2pipe.lint.rules.no_parameters_cell import NoParametersCell
from nb2pipe.lint.rules.no_tests import NoTests
from nb2pipe.lint.rules.non_linear_execution import NonLinearExecution
from nb2pipe.lint.rules.non_literal_parameter import NonLiteralParameter
from nb2pipe.lint.rules.preprocessing_before_split import PreprocessingBeforeSplit
from nb2pipe.lint.rules.setting_not_replayed import SettingNotReplayed
from nb2pipe.lint.rules.shell_side_effect import ShellSideEffect
from nb2pipe.lint.rules.syntax_error import SyntaxError_
from nb2pipe.lint.rules.test_set_reuse import TestSetReuse
from nb2pipe.lint.rules.fit_on_test_data import FitOnTestData
from nb2pipe.lint.rules.undeclared_dependency import UndeclaredDependency
from nb2pipe.lint.rules.undefined_name import UndefinedName
from nb2pipe.lint.rules.unexecuted_cell import UnexecutedCell
from nb2pipe.lint.rules.unpinned_install import UnpinnedInstall
from nb2pipe.lint.rules.unserializable_step_output import UnserializableStepOutput
from nb2pipe.lint.rules.unsupported_kernel import UnsupportedKernel
from nb2pipe.lint.rules.untagged_training_notebook import UntaggedTrainingNotebook
from nb2pipe.lint.rules.unversioned_data import UnversionedData
from nb2pipe.lint.rules.unversioned_model_save import UnversionedModelSave
from nb2pipe.lint.rules.use_before_define import UseBeforeDefine
from nb2pipe.lint.rules.wildcard_import import WildcardImport

ALL_RULES = tuple(sorted((
    NonLinearExecution, ExecutionCountGap, UnexecutedCell, ErrorOutput, UseBeforeDefine,
    UndefinedName, HardCodedAbsolutePath, MissingRandomSeed, EstimatorWithoutRandomState,
    UnpinnedInstall, UndeclaredDependency, CrossNotebookState, ShellSideEffect, WildcardImport,
    ImportNotAtTop, NoExperimentTracking, UnversionedModelSave, NoParametersCell,
    HardCodedHyperparameter, InteractiveInput, AllGlobalScope, HardCodedSecret, InvalidNotebook,
    SyntaxError_, UnsupportedKernel, InvalidTag, AmbiguousProducer, UnserializableStepOutput,
    DefinedOnlyInSkippedCell, NonLiteralParameter, UntaggedTrainingNotebook,
    PreprocessingBeforeSplit, TestSetReuse, FitOnTestData, NoDependencyFile, NoTests, NoCi,
    UnversionedData, SettingNotReplayed,
), key=lambda rule: rule.code))
