"""The evaluation engine: protocol, condition grid, runner, metrics and intervals.

- :mod:`~evalharness.evaluation.metrics`, :mod:`~evalharness.evaluation.intervals`,
  :mod:`~evalharness.evaluation.verification`: pure functions on per-probe arrays.
- :mod:`~evalharness.evaluation.protocol`: gallery / mated / non-mated split, leak checks.
- :mod:`~evalharness.evaluation.conditions`: the grid of conditions and their stable ids.
- :mod:`~evalharness.evaluation.runner`: simulate -> detect -> embed -> match, resumable.
- :mod:`~evalharness.evaluation.summary`: one row of metrics per condition (column meanings).
- :mod:`~evalharness.evaluation.store`, :mod:`~evalharness.evaluation.manifest`: the run
  directory's files, written atomically, and its provenance.
"""
