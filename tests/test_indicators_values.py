"""The catalogue entries and the unit tables together through the shared aggregator: national values of
hand-built worlds, computed by hand (N2's two separate counts, N1's share over 10 days, N3's mean and
the median of an even count, P2's persons and measures by form)."""

import polars as pl
import pytest
import test_indicators_coercion as coercion
import test_indicators_lpr_markers as markers
from test_indicators_support import contact, insert, make_world, person

from assets.indicators import CATALOGUE, write_units
from pipeline.aggregate import aggregate_indicator


def national(con, indicator: str, year: int) -> dict[tuple[str, str], tuple]:
    """(measure, age group) -> (numerator, denominator, value) at national level, all sexes."""
    write_units(con, CATALOGUE[indicator], [year])
    df = aggregate_indicator(con, CATALOGUE[indicator], [year])
    rows = df.filter((pl.col("breakdown_level") == "national") & (pl.col("sex") == "all"))
    return {
        (r["measure"], r["age_group"]): (r["numerator"], r["denominator"], r["value"])
        for r in rows.iter_rows(named=True)
    }


@pytest.fixture()
def coercion_world(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.coercion", coercion.COERCION)
    insert(con, "core.persons", coercion.PERSONS)
    insert(con, "core.residence", coercion.RESIDENCE)
    insert(con, "core.stays", coercion.STAYS)
    return con


def test_n2_share_of_two_separate_counts(coercion_world):
    got = national(coercion_world, "n2_baeltefiksering", 2020)
    # belted: child, tworeg, belt_only = 3; admitted: child, tworeg, open, newyear, vol_belt = 5
    assert got[("share", "all")] == (3, 5, pytest.approx(60.0))
    assert got[("persons_belted", "all")][0] == 3


def test_p2_persons_and_forms(coercion_world):
    got = national(coercion_world, "p2_tvang_personer", 2020)
    # persons: vol_med, child, late, tworeg, belt_only; measures: 13 rows - prev (2019) - vol_belt - somatik
    assert got[("persons", "all")][0] == 5
    assert got[("measures_total", "all")][0] == 10
    # form 1: child, tworeg; 2: vol_med; 3: child, late, tworeg, belt_only; 4: form45, late; 5: form45
    assert [got[(f"measures_form_{k}", "all")][0] for k in range(1, 6)] == [2, 1, 4, 2, 1]
    assert got[("persons", "children")][0] == 1  # child
    assert got[("persons", "adults")][0] == 4


def test_n1_totals_and_share_over_10_days(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.stays", markers.N1_STAYS)
    insert(con, "core.contacts", markers.N1_CONTACTS)
    insert(con, "core.stay_contacts", markers.N1_STAY_CONTACTS)
    insert(con, "core.markers", markers.N1_MARKERS)
    got = national(con, "n1_faerdigbehandlingsdage", 2020)
    # 2020 units: 15, 10 and 11 days
    assert got[("days_total", "all")][2] == 36
    assert got[("admissions_with_days", "all")][2] == 3
    assert got[("share_over_10_days", "all")] == (2, 3, pytest.approx(200 / 3))


def test_n3_mean_and_even_count_median(tmp_path):
    con = make_world(tmp_path)
    waits = {"K1": ("2020-03-01", "2020-03-01"), "K2": ("2020-02-20", "2020-03-01"),
             "K3": ("2020-02-10", "2020-03-01"), "K4": ("2019-11-22", "2020-03-01"),
             "K5": ("2020-03-05", "2020-03-01")}  # 0, 10, 20, 100 days and a negative wait
    insert(con, "core.contacts", [
        contact(f"L3:{k}", f"p{k}", f"{start} 10:00", planned=True, course_id=k, referral=ref)
        for k, (ref, start) in waits.items()
    ])
    insert(con, "core.persons", [person(f"p{k}", "1980-01-01") for k in waits])
    got = national(con, "n3_ventetid", 2020)
    assert got[("mean", "all")][2] == pytest.approx((0 + 10 + 20 + 100) / 4)  # 32.5
    assert got[("median", "all")][2] == pytest.approx((10 + 20) / 2)  # even count: mean of the middle two
