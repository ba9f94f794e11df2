"""The pipeline build, shared by the NB4xx rules: built once per notebook, only when the
notebook carries pipeline tags."""

from __future__ import annotations


def pipeline_problems(ctx, code: str):
    """The build's diagnostics with ``code`` (an empty list for untagged notebooks)."""
    analysis = ctx.analysis
    cached = getattr(analysis, "_nb2pipe_pipeline_problems", None)
    if cached is None:
        from nb2pipe.pipeline.build import build_pipeline, is_tagged

        cached = []
        if is_tagged(ctx.notebook):
            cached = build_pipeline(ctx.notebook, analysis)[1]
        analysis._nb2pipe_pipeline_problems = cached
    return [d for d in cached if d.code == code]
