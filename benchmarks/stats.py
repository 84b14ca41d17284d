"""Summaries of latency samples."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import mannwhitneyu


def summary(samples_seconds: list[float]) -> dict[str, float]:
    values = np.asarray(samples_seconds) * 1000
    return {
        "n": len(values),
        "median_ms": float(np.median(values)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
        "max_ms": float(values.max()),
    }


def distinguishable(a: list[float], b: list[float]) -> dict[str, Any]:
    """Mann-Whitney U, two-sided, and the probability that a sample of ``a`` exceeds one of ``b``.

    A probability near 0.5 and a large p-value mean an observer cannot tell the two apart
    from response times; near 0 or 1 means they can, request by request.
    """
    result = mannwhitneyu(a, b, alternative="two-sided")
    return {
        "mann_whitney_u": float(result.statistic),
        "p_value": float(result.pvalue),
        "probability_a_slower": float(result.statistic) / (len(a) * len(b)),
    }
