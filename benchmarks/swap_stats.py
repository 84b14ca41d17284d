"""Medians with 95% confidence intervals, in the standard library alone.

`benchmarks.stats` needs numpy and scipy, which the fastapi-users environment that runs
`benchmarks.swap` does not have; these are the distribution-free equivalents it needs.
"""

from __future__ import annotations

import math
import random
import statistics
from typing import Any

Z_95 = 1.959963984540054


def _binomial_cdf(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(k + 1)) / (1 << n)


def median_ci(samples: list[float]) -> tuple[float, float]:
    """A 95% confidence interval of the median from order statistics (no distribution assumed).

    The j-th and k-th smallest samples bound the median with probability
    P(j <= B < k), B ~ Binomial(n, 1/2); j is the largest rank keeping that at 95% or more.
    """
    ordered = sorted(samples)
    n = len(ordered)
    if n < 6:  # too few for a 95% interval: the range is the honest answer
        return ordered[0], ordered[-1]
    j = 0
    while _binomial_cdf(j, n) < 0.025:
        j += 1
    # ranks j and n - j - 1 (0-based) hold >= 95% coverage
    low_rank = max(0, j - 1)
    return ordered[low_rank], ordered[n - 1 - low_rank]


def ratio_ci(
    numerator: list[float], denominator: list[float], resamples: int = 2000
) -> tuple[float, float]:
    """A 95% percentile-bootstrap interval of median(numerator) / median(denominator)."""
    rng = random.Random(20261127)
    ratios = sorted(
        statistics.median(rng.choices(numerator, k=len(numerator)))
        / statistics.median(rng.choices(denominator, k=len(denominator)))
        for _ in range(resamples)
    )
    return ratios[int(0.025 * resamples)], ratios[int(0.975 * resamples) - 1]


def summary_ms(samples_seconds: list[float]) -> dict[str, Any]:
    """Median with its 95% CI, p90, p99 and max, in milliseconds."""
    values = sorted(s * 1000 for s in samples_seconds)
    low, high = median_ci(values)

    def percentile(p: float) -> float:
        return values[min(len(values) - 1, math.ceil(p / 100 * len(values)) - 1)]

    return {
        "n": len(values),
        "median_ms": statistics.median(values),
        "median_ci95_ms": [low, high],
        "p90_ms": percentile(90),
        "p99_ms": percentile(99),
        "max_ms": values[-1],
    }


def compare(stock: list[float], swapped: list[float]) -> dict[str, Any]:
    """The swapped/stock ratio of medians with its bootstrap 95% CI."""
    low, high = ratio_ci(swapped, stock)
    return {
        "swapped_over_stock": statistics.median(swapped) / statistics.median(stock),
        "ci95": [low, high],
    }


def probability_slower(a: list[float], b: list[float]) -> dict[str, float]:
    """P(a sample of ``a`` > one of ``b``) (Mann-Whitney U / n_a n_b) and its two-sided p-value.

    0.5 with a large p-value: an observer cannot tell ``a`` from ``b`` by response time; near
    1: one request tells. The p-value uses the normal approximation with a tie correction.
    """
    labelled = sorted([(value, 0) for value in a] + [(value, 1) for value in b])
    ranks = [0.0] * len(labelled)
    ties = 0.0
    start = 0
    while start < len(labelled):
        end = start
        while end + 1 < len(labelled) and labelled[end + 1][0] == labelled[start][0]:
            end += 1
        for index in range(start, end + 1):
            ranks[index] = (start + end) / 2 + 1
        size = end - start + 1
        ties += size**3 - size
        start = end + 1
    n_a, n_b = len(a), len(b)
    rank_sum_a = sum(rank for rank, (_, group) in zip(ranks, labelled, strict=True) if group == 0)
    u_a = rank_sum_a - n_a * (n_a + 1) / 2
    n = n_a + n_b
    variance = n_a * n_b / 12 * ((n + 1) - ties / (n * (n - 1)))
    z = (u_a - n_a * n_b / 2) / math.sqrt(variance) if variance > 0 else 0.0
    return {
        "probability_a_slower": u_a / (n_a * n_b),
        "p_value": math.erfc(abs(z) / math.sqrt(2)),
    }
