"""Interval estimates and standardisation, vectorised over numpy arrays.

What belongs here: the statistics every indicator value uses — the Wilson score interval for
proportions (also with Kish's effective sample size for weighted shares), the exact (Garwood) Poisson
interval for counts, rates and ratios, and direct standardisation. What does not: reading tables or
deciding which measure uses which interval (that is `pipeline.aggregate`).

No scipy: the Poisson interval needs quantiles of the gamma distribution (chi-square / 2), computed
here from the regularised incomplete gamma function (series and continued fraction, as in Numerical
Recipes §6.2) inverted by safeguarded Newton steps. Every function takes and returns arrays; an
undefined result (n = 0) is NaN.
"""

from __future__ import annotations

from math import lgamma

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054  # the 97.5 % quantile of the standard normal distribution
ArrayLike = npt.ArrayLike
_EPS = 1e-15
_TINY = 1e-300
_lgamma = np.vectorize(lgamma, otypes=[float])  # the stdlib's exact log-gamma, over an array


def wilson_interval(x: ArrayLike, n: ArrayLike, z: float = Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion x/n (as a fraction 0..1); NaN where n <= 0.

    x may be non-integer (a weighted count scaled to an effective n).
    """
    x = np.asarray(x, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(np.clip(p * (1.0 - p), 0.0, None) / n + z2 / (4.0 * n * n)) / denom
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), np.nan)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), np.nan)
    # At the boundaries the interval touches 0 or 1 exactly (rounding can leave 1e-17).
    low = np.where((n > 0) & (x <= 0), 0.0, low)
    high = np.where((n > 0) & (x >= n), 1.0, high)
    return low, high


def kish_effective_n(sum_w: ArrayLike, sum_w2: ArrayLike) -> np.ndarray:
    """Kish's effective sample size (Σw)² / Σw²; NaN where Σw² = 0."""
    sw = np.asarray(sum_w, dtype=float)
    sw2 = np.asarray(sum_w2, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sw2 > 0, sw * sw / sw2, np.nan)


def weighted_wilson_interval(
    sum_w_num: ArrayLike, sum_w: ArrayLike, sum_w2: ArrayLike, z: float = Z95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted share Σw·num / Σw with the Wilson interval at n = Kish's effective n.

    Returns (share, low, high) as fractions; NaN where Σw = 0.
    """
    swn = np.asarray(sum_w_num, dtype=float)
    sw = np.asarray(sum_w, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(sw > 0, swn / sw, np.nan)
    n_eff = kish_effective_n(sw, sum_w2)
    low, high = wilson_interval(np.nan_to_num(share) * np.nan_to_num(n_eff), np.nan_to_num(n_eff), z)
    return share, low, high


# --- regularised incomplete gamma and its inverse ----------------------------------------------------


def _gamma_p(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Regularised lower incomplete gamma P(a, x) for a > 0, x >= 0 (elementwise)."""
    a = np.asarray(a, dtype=float)
    x = np.asarray(x, dtype=float)
    out = np.zeros(np.broadcast(a, x).shape)
    a, x = np.broadcast_arrays(a, x)
    log_front = np.where(x > 0, a * np.log(np.where(x > 0, x, 1.0)) - x - _lgamma(a), -np.inf)
    series = (x > 0) & (x < a + 1.0)
    frac = x >= a + 1.0
    if series.any():
        aa, xx = a[series], x[series]
        term = 1.0 / aa
        total = term.copy()
        ap = aa.copy()
        active = np.ones(aa.shape, dtype=bool)
        for _ in range(100_000):  # terms shrink like exp(-k²/2a): about 8·sqrt(a) of them
            ap = ap + 1.0
            term = np.where(active, term * xx / ap, 0.0)
            total += term
            active &= np.abs(term) > np.abs(total) * _EPS
            if not active.any():
                break
        out[series] = total * np.exp(log_front[series])
    if frac.any():
        aa, xx = a[frac], x[frac]
        # Modified Lentz for the continued fraction of Q(a, x).
        b = xx + 1.0 - aa
        c = np.full(aa.shape, 1.0 / _TINY)
        d = 1.0 / b
        h = d.copy()
        active = np.ones(aa.shape, dtype=bool)
        for i in range(1, 100_000):
            an = -i * (i - aa)
            b = b + 2.0
            d_new = an * d + b
            d_new = np.where(np.abs(d_new) < _TINY, _TINY, d_new)
            c_new = b + an / c
            c_new = np.where(np.abs(c_new) < _TINY, _TINY, c_new)
            d_new = 1.0 / d_new
            delta = c_new * d_new
            h = np.where(active, h * delta, h)
            d = np.where(active, d_new, d)
            c = np.where(active, c_new, c)
            active &= np.abs(delta - 1.0) > _EPS
            if not active.any():
                break
        out[frac] = 1.0 - np.exp(log_front[frac]) * h
    return np.clip(out, 0.0, 1.0)


def gamma_quantile(p: ArrayLike, a: ArrayLike) -> np.ndarray:
    """Quantile of the Gamma(shape a, scale 1) distribution: x with P(a, x) = p (elementwise).

    Start from the Wilson–Hilferty approximation, then Newton steps on P(a, x) − p kept inside a
    bracket that bisection narrows whenever a step would leave it.
    """
    p, a = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(a, dtype=float))
    p = p.copy()
    a = a.copy()
    if np.any((a <= 0) | (p < 0) | (p >= 1)):
        raise ValueError("gamma_quantile needs shape > 0 and 0 <= p < 1")
    zq = _normal_quantile(p)
    wh = a * (1.0 - 1.0 / (9.0 * a) + zq / (3.0 * np.sqrt(a))) ** 3
    x = np.where(wh > 0, wh, a * 0.5)
    lo = np.zeros(a.shape)
    hi = np.maximum(a + 20.0 * np.sqrt(a) + 50.0, 2.0 * x)
    log_norm = _lgamma(a)
    active = p > 0
    for _ in range(200):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        xa, aa, pa = x.flat[idx], a.flat[idx], p.flat[idx]
        f = _gamma_p(aa, xa) - pa
        lo.flat[idx] = np.where(f < 0, xa, lo.flat[idx])
        hi.flat[idx] = np.where(f > 0, xa, hi.flat[idx])
        dens = np.exp((aa - 1.0) * np.log(np.maximum(xa, _TINY)) - xa - log_norm.flat[idx])
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            step = np.where(dens > 0, f / dens, np.nan)
        x_new = xa - step
        outside = ~np.isfinite(x_new) | (x_new <= lo.flat[idx]) | (x_new >= hi.flat[idx])
        x_new = np.where(outside, 0.5 * (lo.flat[idx] + hi.flat[idx]), x_new)
        done = (np.abs(x_new - xa) <= 1e-11 * np.maximum(1.0, np.abs(xa))) | (f == 0)
        x.flat[idx] = x_new
        active.flat[idx[done]] = False
    return np.where(p == 0, 0.0, x)


def _normal_quantile(p: np.ndarray) -> np.ndarray:
    """Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9); a start value only."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02, 1.383577518672690e02,
         -3.066479806614716e01, 2.506628277459239e00)  # fmt: skip
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02, 6.680131188771972e01,
         -1.328068155288572e01)  # fmt: skip
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00, -2.549732539343734e00,
         4.374664141464968e00, 2.938163982698783e00)  # fmt: skip
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1 - 1e-16)
    q = np.where(p < 0.5, p, 1.0 - p)
    central = q > 0.02425
    r = q - 0.5
    rr = r * r
    x_c = (((((a[0] * rr + a[1]) * rr + a[2]) * rr + a[3]) * rr + a[4]) * rr + a[5]) * r / (
        ((((b[0] * rr + b[1]) * rr + b[2]) * rr + b[3]) * rr + b[4]) * rr + 1.0
    )
    t = np.sqrt(-2.0 * np.log(q))
    x_t = (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / (
        (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1.0
    )
    x = np.where(central, x_c, x_t)  # lower tail value (negative)
    return np.where(p < 0.5, x, -x)


def poisson_interval(count: ArrayLike, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Garwood) interval for a Poisson mean given an observed count.

    low = χ²(α/2; 2k)/2 = Gamma⁻¹(α/2; k) (0 for k = 0), high = χ²(1−α/2; 2k+2)/2 = Gamma⁻¹(1−α/2; k+1).
    NaN where the count is NaN or negative.
    """
    k = np.asarray(count, dtype=float)
    valid = np.isfinite(k) & (k >= 0)
    kk = np.where(valid, k, 0.0)
    # Counts repeat a lot across cells: compute each distinct count once.
    uniq, inverse = np.unique(kk, return_inverse=True)
    u_low = np.zeros(uniq.shape)
    pos = uniq > 0
    if pos.any():
        u_low[pos] = gamma_quantile(np.full(int(pos.sum()), alpha / 2.0), uniq[pos])
    u_high = gamma_quantile(np.full(uniq.shape, 1.0 - alpha / 2.0), uniq + 1.0)
    low = u_low[inverse].reshape(kk.shape)
    high = u_high[inverse].reshape(kk.shape)
    return np.where(valid, low, np.nan), np.where(valid, high, np.nan)


def direct_standardise(
    numerator: ArrayLike, denominator: ArrayLike, standard_weight: ArrayLike, group: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Directly standardised proportions, one per group, from stratum rows.

    Each row is one stratum of one group: its numerator and denominator in the group, and the size of
    that stratum in the standard population. The value is Σ_s w_s·(num_s/den_s) / Σ_s w_s over the
    group's strata with den_s > 0 (strata missing from a group drop out and the weights of the rest are
    renormalised; the caller flags such groups). Returns (groups in sorted order, values); NaN for a
    group with no usable stratum.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    w = np.asarray(standard_weight, dtype=float)
    groups, inverse = np.unique(np.asarray(group), return_inverse=True)
    usable = (den > 0) & (w > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(usable, num / np.where(den > 0, den, 1.0), 0.0)
    wsum = np.bincount(inverse, weights=np.where(usable, w, 0.0), minlength=len(groups))
    wrate = np.bincount(inverse, weights=np.where(usable, w * rate, 0.0), minlength=len(groups))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(wsum > 0, wrate / wsum, np.nan)
    return groups, value
