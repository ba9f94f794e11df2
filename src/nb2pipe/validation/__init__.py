"""Data validation: a baseline of each frame a pipeline passes between its steps, and every
later run checked against it where the frame is produced.

A *frame* is a value that crosses a step boundary and holds tabular data: a pandas
``DataFrame`` or ``Series``, or a numpy array (checked by dtype and shape; 1-D and 2-D arrays
by column too). Each has a name, ``STEP.NAME`` (``split.X_train``), and two baseline files in
the pipeline folder's ``validation/``, meant to be reviewed and committed:

- ``STEP.NAME.schema.yaml``: a pandera schema in pandera's own YAML format, stricter than
  ``pandera.infer_schema`` gives: no coercion (a float column fails an int64 schema), the
  columns that must be there and no others, nullability as observed, and the allowed
  categories of every text, categorical or boolean column with few values;
- ``STEP.NAME.profile.json``: per column, count, nulls, min/max/mean/std, deciles and the
  share of rows between them, and the most frequent categories: what drift is measured
  against.

A run validates each frame (pandera, ``lazy=True``: every failure is collected) and computes
its drift per column: the population stability index (PSI) on the baseline's decile bins for
numbers, on the baseline's category frequencies for categories. The report goes to
``runs/ID/validation/``; a failed check raises :class:`DataValidationError` in the producing
step, so the steps that consume the frame never run. Drift over the threshold is a warning,
or a failure when strict.

This package runs inside the steps' kernels and components, like :mod:`nb2pipe.runtime`:
it imports nothing of nb2pipe's, and pandas, numpy and pandera only when a frame needs them.
"""

from __future__ import annotations

from nb2pipe.validation.check import (
    DataValidationError,
    ValidationSettings,
    frame_of,
    is_frame,
    validate_value,
)

__all__ = ["DataValidationError", "ValidationSettings", "frame_of", "is_frame",
           "validate_value"]
