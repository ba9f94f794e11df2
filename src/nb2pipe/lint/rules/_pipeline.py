"""The pipeline build, shared by the NB4xx rules and the panel's outline: built once per
notebook, only when the notebook carries pipeline tags."""

from __future__ import annotations


def pipeline_build(notebook, analysis):
    """``(pipeline or None, diagnostics)`` of a tagged notebook; ``(None, [])`` for an
    untagged one. Kept on the analysis, so the rules and the outline share one build."""
    cached = getattr(analysis, "_nb2pipe_pipeline_build", None)
    if cached is None:
        from nb2pipe.pipeline.build import build_pipeline, is_tagged

        cached = build_pipeline(notebook, analysis) if is_tagged(notebook) else (None, [])
        analysis._nb2pipe_pipeline_build = cached
    return cached


def pipeline_problems(ctx, code: str):
    """The build's diagnostics with ``code`` (an empty list for untagged notebooks)."""
    return [d for d in pipeline_build(ctx.notebook, ctx.analysis)[1] if d.code == code]
