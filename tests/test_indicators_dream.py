"""P5 (employment retention) and P6 (social-service recipients in education or employment): ISO-week
lookups in core.dream_weeks across ISO year boundaries (week 53), the 182-day boundary, weeks outside
the extract, 26 weeks, student-grant weeks, age on the reference date. Expected rows written by hand."""

import pytest
from test_indicators_support import d, insert, make_world, outcome, person, run_units, stay

# the extract covers ISO 2019-W01 .. ISO 2021-W52 (ISO 2020 has 53 weeks)
COVERAGE = [
    {"iso_year": y, "iso_week": w} for y, n in ((2019, 52), (2020, 53), (2021, 52)) for w in range(1, n + 1)
]


def weeks(pnr, iso_year, week_numbers, code="111"):
    return [{"pnr": pnr, "iso_year": iso_year, "iso_week": w, "code": code} for w in week_numbers]


# P5: start 2020-03-01 -> start - 28 days = 2020-02-02 (Sunday) = ISO 2020-W05;
#     end 2020-03-20 -> end + 182 days = 2020-09-18 = ISO 2020-W38
P5_STAYS = [
    stay(1, "ok", "2020-03-01 08:00", "2020-03-20 10:00"),
    stay(2, "busy_after", "2020-03-01 08:00", "2020-03-20 10:00"),
    stay(3, "busy_before", "2020-03-01 08:00", "2020-03-20 10:00"),
    # start 2021-01-31 -> 2021-01-03 = ISO 2020-W53 (calendar 2021); end + 182 = 2021-08-11 = 2021-W32
    stay(4, "w53_busy", "2021-01-31 08:00", "2021-02-10 10:00"),
    stay(5, "w53_free", "2021-01-31 08:00", "2021-02-10 10:00"),
    # end 2021-09-01 + 182 = 2022-03-02 = ISO 2022-W09, outside the extract
    stay(6, "outside", "2021-08-20 08:00", "2021-09-01 10:00"),
    stay(7, "died182", "2020-03-01 08:00", "2020-03-20 10:00"),
    stay(8, "died183", "2020-03-01 08:00", "2020-03-20 10:00"),
    stay(9, "age65", "2020-03-01 08:00", "2020-03-20 10:00"),
    stay(10, "age64", "2020-03-01 08:00", "2020-03-20 10:00"),
    # two admissions ending in 2020: only the first by end is the index
    stay(11, "twice", "2020-05-01 08:00", "2020-05-10 10:00"),
    stay(12, "twice", "2020-01-01 08:00", "2020-01-10 10:00"),
    stay(13, "nobef", "2020-03-01 08:00", "2020-03-20 10:00"),
]
P5_PERSONS = [
    person(p, "1980-05-05")
    for p in ("ok", "busy_after", "busy_before", "w53_busy", "w53_free", "outside", "died182", "died183", "twice")
] + [person("age65", "1955-03-01"), person("age64", "1955-03-02")]
P5_WEEKS = (
    weeks("busy_after", 2020, [38])
    + weeks("busy_before", 2020, [5], code="740")
    + weeks("w53_busy", 2020, [53])
    + weeks("w53_free", 2021, [1])  # the week after: calendar-naive code would look here
    + weeks("w53_free", 2020, [52])
)
P5_DEATHS = [{"pnr": "died182", "doddato": d("2020-09-18")}, {"pnr": "died183", "doddato": d("2020-09-19")}]

P5_EXPECTED = {
    ("1", 2020): (True, True, None),
    ("2", 2020): (True, False, None),
    ("3", 2020): (False, False, "not_employed_before"),
    ("4", 2021): (False, False, "not_employed_before"),
    ("5", 2021): (True, True, None),
    ("6", 2021): (False, False, "week_outside_extract"),
    ("7", 2020): (False, False, "died_within_follow_up"),
    ("8", 2020): (True, True, None),
    ("9", 2020): (False, False, "age_outside_range"),
    ("10", 2020): (True, True, None),
    ("12", 2020): (True, True, None),
    ("13", 2020): (True, True, None),  # unknown age is counted (boundary rule)
}

# P6 in 2020: ISO 2020 has 53 weeks; numerator = at least 26 empty-or-SU weeks
P6_SUPPORT = [
    {"pnr": p, "paragraf": "85", "maalgruppe": "sindslidelse", "start_dato": d("2018-01-01"), "slut_dato": None}
    for p in ("free26", "free25", "su", "p6_age64", "p6_age65", "p6_age18", "p6_age17")
] + [
    {"pnr": "oneday", "paragraf": "107", "maalgruppe": "socialt_problem", "start_dato": d("2019-01-01"),
     "slut_dato": d("2020-01-01")},
    {"pnr": "lastday", "paragraf": "108", "maalgruppe": "sindslidelse", "start_dato": d("2020-12-31"),
     "slut_dato": None},
    {"pnr": "ended", "paragraf": "85", "maalgruppe": "sindslidelse", "start_dato": d("2019-01-01"),
     "slut_dato": d("2019-12-31")},
    {"pnr": "para99", "paragraf": "99", "maalgruppe": "sindslidelse", "start_dato": d("2019-01-01"),
     "slut_dato": None},
    {"pnr": "handicap", "paragraf": "85", "maalgruppe": "handicap", "start_dato": d("2019-01-01"),
     "slut_dato": None},
]
P6_PERSONS = [
    person(p, "1980-05-05") for p in ("free26", "free25", "su", "oneday", "lastday", "ended", "para99", "handicap")
] + [
    person("p6_age64", "1955-07-02"), person("p6_age65", "1955-07-01"),  # age on 1 July 2020: 64 / 65
    person("p6_age18", "2002-07-01"), person("p6_age17", "2002-07-02"),  # 18 / 17
]
P6_WEEKS = (
    weeks("free26", 2020, range(1, 28))  # 27 benefit weeks -> 53 - 27 = 26 free
    + weeks("free25", 2020, range(1, 29))  # 28 -> 25
    + weeks("su", 2020, range(1, 28), code="130")  # 27 benefit weeks ...
    + weeks("su", 2020, range(28, 54), code="651")  # ... and 26 SU weeks -> 26 free-or-SU
    + weeks("free25", 2019, range(1, 53))  # other ISO years do not count
)
P6_EXPECTED = {
    "free26": (True, True, None),
    "free25": (True, False, None),
    "su": (True, True, None),
    "oneday": (True, True, None),
    "lastday": (True, True, None),
    "p6_age64": (True, True, None),
    "p6_age65": (False, False, "age_outside_range"),
    "p6_age18": (True, True, None),
    "p6_age17": (False, False, "age_outside_range"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    con = make_world(tmp_path_factory.mktemp("dream"))
    insert(con, "core.dream_coverage", COVERAGE)
    insert(con, "core.stays", P5_STAYS)
    insert(con, "core.persons", P5_PERSONS + P6_PERSONS)
    insert(con, "core.dream_weeks", P5_WEEKS + P6_WEEKS)
    insert(con, "core.deaths", P5_DEATHS)
    insert(con, "core.social_support", P6_SUPPORT)
    return con


def test_p5_units(world):
    rows = run_units(world, "p5_beskaeftigelse", [2020, 2021])
    assert {k: outcome(r) for k, r in rows.items()} == P5_EXPECTED
    assert rows[("9", 2020)]["age"] == 65 and rows[("10", 2020)]["age"] == 64
    assert rows[("13", 2020)]["age_group"] == "unknown" and rows[("1", 2020)]["age_group"] == "18-64"


def test_p6_units(world):
    rows = run_units(world, "p6_serviceloven", [2020])
    assert {unit_id: outcome(r) for (unit_id, _), r in rows.items()} == P6_EXPECTED
    assert rows[("free26", 2020)]["value"] == 26.0 and rows[("free25", 2020)]["value"] == 25.0
    assert rows[("su", 2020)]["value"] == 26.0 and rows[("oneday", 2020)]["value"] == 53.0


def test_p6_year_outside_extract(world):
    rows = run_units(world, "p6_serviceloven", [2022])
    reasons = {unit_id: r["exclusion_reason"] for (unit_id, _), r in rows.items()}
    # ages on 1 July 2022: age64/age65 are 66/67, the others 19-42
    assert reasons == {
        "p6_age64": "age_outside_range", "p6_age65": "age_outside_range", "p6_age17": "weeks_outside_extract",
        "p6_age18": "weeks_outside_extract", "free25": "weeks_outside_extract", "free26": "weeks_outside_extract",
        "lastday": "weeks_outside_extract", "su": "weeks_outside_extract",
    }
    assert not any(r["in_denominator"] for r in rows.values())
