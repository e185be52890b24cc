"""Wilson, Kish, Garwood and direct standardisation against hand-written reference values.

Poisson references: the exact 95 % limits tabulated for counts 0-100 (e.g. Sahai & Khurshid 1993,
Table 1; the same as chi-square(2k, 0.025)/2 and chi-square(2k+2, 0.975)/2), to four decimals.
Wilson references: worked by hand from the closed form (z = 1.96).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.stats import (
    direct_standardise,
    gamma_quantile,
    kish_effective_n,
    poisson_interval,
    weighted_wilson_interval,
    wilson_interval,
)

GARWOOD_95 = {
    0: (0.0, 3.6889),
    1: (0.0253, 5.5716),
    2: (0.2422, 7.2247),
    3: (0.6187, 8.7673),
    4: (1.0899, 10.2416),
    5: (1.6235, 11.6683),
    10: (4.7954, 18.3904),
    20: (12.2165, 30.8884),
    50: (37.1110, 65.9188),
    100: (81.3640, 121.6268),
}


def test_poisson_garwood_table() -> None:
    counts = np.array(sorted(GARWOOD_95))
    low, high = poisson_interval(counts)
    for k, lo, hi in zip(counts, low, high, strict=True):
        ref_lo, ref_hi = GARWOOD_95[int(k)]
        assert lo == pytest.approx(ref_lo, abs=6e-5), k
        assert hi == pytest.approx(ref_hi, abs=6e-5), k
    assert low[0] == 0.0  # a zero count has a lower limit of exactly zero


def test_poisson_large_count_and_invalid() -> None:
    # For a large count the Wilson-Hilferty form is accurate to about 0.02 (worked by hand):
    # low = k(1 - 1/(9k) - z/(3√k))³ = 10000·0.9934557³ = 9804.93
    # high = (k+1)(1 - 1/(9(k+1)) + z/(3√(k+1)))³ = 10001·1.0065218³ = 10197.95
    low, high = poisson_interval([10_000])
    assert low[0] == pytest.approx(9804.93, abs=0.1)
    assert high[0] == pytest.approx(10197.95, abs=0.1)
    low, high = poisson_interval([np.nan, -1])
    assert np.isnan(low).all() and np.isnan(high).all()


def test_gamma_quantile_closed_form_shape_one() -> None:
    # Gamma(1) is the exponential distribution: quantile = -ln(1 - p).
    p = np.array([0.025, 0.5, 0.975])
    assert gamma_quantile(p, np.ones(3)) == pytest.approx(-np.log1p(-p), rel=1e-10)


def test_wilson_boundaries() -> None:
    low, high = wilson_interval([0, 1, 5, 10, 0], [10, 10, 10, 10, 0])
    # 0/10: upper = z²/(n+z²) = 3.8415/13.8415
    assert low[0] == 0.0 and high[0] == pytest.approx(0.27753, abs=1e-5)
    assert (low[1], high[1]) == pytest.approx((0.01788, 0.40415), abs=1e-5)
    assert (low[2], high[2]) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert low[3] == pytest.approx(0.72247, abs=1e-5) and high[3] == 1.0
    assert math.isnan(low[4]) and math.isnan(high[4])  # n = 0: undefined


def test_kish_and_weighted_wilson() -> None:
    # weights 1, 1, 2, 4 -> Σw = 8, Σw² = 22, n_eff = 64/22 = 2.9091
    assert kish_effective_n([8.0], [22.0])[0] == pytest.approx(64 / 22)
    # numerator units are those with weights 2 and 4 -> share 6/8 = 0.75
    share, low, high = weighted_wilson_interval([6.0], [8.0], [22.0])
    assert share[0] == pytest.approx(0.75)
    # Wilson at p = 0.75, n = 2.90909: z²/n = 1.32050, centre (0.75 + 0.66025)/2.32050 = 0.60774,
    # half = 1.96·sqrt(0.064453 + 0.113480)/2.32050 = 0.35628
    assert low[0] == pytest.approx(0.25145, abs=1e-4)
    assert high[0] == pytest.approx(0.96402, abs=1e-4)
    # equal weights give back the plain Wilson interval
    s, lo, hi = weighted_wilson_interval([5.0], [10.0], [10.0])
    assert (lo[0], hi[0]) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    s, lo, hi = weighted_wilson_interval([0.0], [0.0], [0.0])
    assert math.isnan(s[0]) and math.isnan(lo[0])


def test_direct_standardisation_by_hand() -> None:
    # Standard population: stratum a 300, b 100 -> weights 0.75, 0.25.
    # Group g1: a 10/100, b 30/50 -> 0.75·0.10 + 0.25·0.60 = 0.225
    # Group g2: a 0/40, b has no units -> only stratum a is usable -> 0.0
    # Group g3: no usable stratum -> NaN
    groups, value = direct_standardise(
        numerator=[10, 30, 0, 0, 0],
        denominator=[100, 50, 40, 0, 0],
        standard_weight=[300, 100, 300, 100, 300],
        group=["g1", "g1", "g2", "g2", "g3"],
    )
    assert list(groups) == ["g1", "g2", "g3"]
    assert value[0] == pytest.approx(0.225)
    assert value[1] == 0.0
    assert math.isnan(value[2])
