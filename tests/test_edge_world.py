"""The edge-case world through the whole asset graph: per named person, their unit rows; per indicator,
hand-computed national values.

The world is `tests/edge_world/world.py` (one block per named person, the person id says what must
happen). Every expected row and value below is written by hand from INDICATORS.md, never taken from
the code under test; the comments show the arithmetic. Exclusion-reason and extra-column names are the
labels documented in docs/architecture.md ("Indicator units").

The pipeline runs once per module (`pipeline run` in-process, years 2016-2021, data end 2021-12-31, so
data end - 30 days = 2021-12-01).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import ANY

import duckdb
import pytest
from edge_world.world import N_NOISE, build_world, named_persons, write_world

from pipeline import cli

T, F = True, False
A, C, U = "adults", "children", "unknown"

# Exclusion reasons (labels of docs/architecture.md / the unit SQL; the rules are INDICATORS.md's).
DIED_STAY = "died_during_stay"  # P4/I1: doddato on or before the index end date
DIED_30 = "died_within_30_days"  # P4/I1: death within 30 days, no (re)admission before it
AFTER_END = "follow_up_after_data_end"  # P4/I1: discharge later than data end - 30 days
P5_AGE, P5_DIED = "age_outside_range", "died_within_follow_up"
P5_OUTSIDE, P5_BUSY = "week_outside_extract", "not_employed_before"
NEG_WAIT = "negative_wait"
DONT_KNOW = "dont_know"
P1_UNDER16, P1_NO_MCS = "under_min_age", "mcs_missing"
VOL_BELT, NOT_PSYCH = "voluntary_belt", "not_psychiatry"
LOOKBACK = "incomplete_lookback"


# =============================================================================================
# Expected unit rows per named person: {indicator: {person: (years checked, [rows])}}.
# A person's rows in those years must be exactly these (order free; ANY matches anything).
# =============================================================================================

ALL_YEARS = tuple(range(2016, 2022))
P4_COLS = "year, in_denominator, in_numerator, exclusion_reason, age_group"

P4_ROWS: dict[str, tuple[tuple[int, ...], list[tuple]]] = {
    # index 03-10 10:00 -> readmission 04-09 10:00 = exactly 720 h (numerator); the readmission is an index
    "p4_readm_day30_counts": (ALL_YEARS, [(2020, T, T, None, A), (2020, T, F, None, A)]),
    "p4_readm_day30_plus_1min_not": (ALL_YEARS, [(2020, T, F, None, A), (2020, T, F, None, A)]),
    "p4_readm_not_acute": (ALL_YEARS, [(2020, T, F, None, A), (2020, T, F, None, A)]),
    "p4_death_day30_no_readm_left_out": (ALL_YEARS, [(2020, F, F, DIED_30, A)]),
    "p4_death_day31_stays_in": (ALL_YEARS, [(2020, T, F, None, A)]),
    # readmission on the death date counts; that readmission stay ends on the death date
    "p4_readm_on_death_date_counts": (ALL_YEARS, [(2020, T, T, None, A), (2020, F, F, DIED_STAY, A)]),
    "p4_death_in_stay_left_out": (ALL_YEARS, [(2020, F, F, DIED_STAY, A)]),
    # 17 at the first discharge, 18 at the second
    "p4_age17_at_discharge_child": (ALL_YEARS, [(2020, T, T, None, C), (2020, T, F, None, A)]),
    "p4_age18_on_discharge_day_adult": (ALL_YEARS, [(2020, T, F, None, A)]),
    "p4_chain_4h_exactly_one_stay": (ALL_YEARS, [(2020, T, F, None, A)]),
    "p4_gap_4h_plus_1min_readm": (ALL_YEARS, [(2020, T, T, None, A), (2020, T, F, None, A)]),
    "p4_readm_12h_exactly_is_admission": (ALL_YEARS, [(2020, T, T, None, A), (2020, T, F, None, A)]),
    "p4_readm_11h59_not_admission": (ALL_YEARS, [(2020, T, F, None, A)]),
    # LPR2 index 2018 readmitted in LPR3 2019; the 'LPR2'-marked LPR3 copy adds nothing
    "p4_lpr2_dec2018_readm_lpr3_jan2019": (ALL_YEARS, [(2018, T, T, None, A), (2019, T, F, None, A)]),
    "p4_lpr2_empty_end_hour_midnight_721h_not": (ALL_YEARS, [(2018, T, F, None, A), (2018, T, F, None, A)]),
    "p4_born_0229_age17_on_0228_child": (ALL_YEARS, [(2018, T, F, None, C)]),
    "p4_discharge_on_dataend_minus30_in": (ALL_YEARS, [(2021, T, T, None, A), (2021, F, F, AFTER_END, A)]),
    "p4_discharge_after_dataend_minus30_out": (ALL_YEARS, [(2021, F, F, AFTER_END, A)]),
    "p4_open_contact_is_readm": (ALL_YEARS, [(2021, T, T, None, A)]),
    "p4_open_stay_chains_never_index": (ALL_YEARS, []),
    "p4_open_short_by_dataend_not_readm": (ALL_YEARS, [(2021, T, F, None, A)]),
    "p4_not_in_bef_age_unknown": (ALL_YEARS, [(2020, T, F, None, U)]),
    "p4_last_contact_tie_latest_end": (ALL_YEARS, [(2019, T, F, None, A)]),
    "p5_first_by_end_age17_not_replaced": (ALL_YEARS, [(2019, T, F, None, C), (2019, T, F, None, A)]),
    "i1_open_somatic_admission_counts": (ALL_YEARS, [(2019, T, F, None, A)]),
    # a planned and an acute contact share the readmission stay's earliest start -> acute
    "p4_tie_at_earliest_start_acute_counts": (ALL_YEARS, [(2020, T, T, None, A), (2020, T, F, None, A)]),
    "p4_chain_latest_end_so_far": (ALL_YEARS, [(2020, T, F, None, A)]),
    "p4_last_contact_kom_residence": (ALL_YEARS, [(2020, T, F, None, A)]),
    "p4_no_contact_kom_residence_from_bef": (ALL_YEARS, [(2020, T, F, None, A)]),
    # the second stay's earliest contact is planned -> not acute, no readmission
    "p4_readm_earliest_contact_planned_not": (ALL_YEARS, [(2020, T, F, None, A), (2020, T, F, None, A)]),
    "p4_std2017_adult": (ALL_YEARS, [(2017, T, F, None, A)]),
    "p4_std2017_child": (ALL_YEARS, [(2017, T, F, None, C)]),
    # P4 side of the I1 persons
    "i1_psych_readm_then_death": (ALL_YEARS, [(2020, T, T, None, A), (2020, F, F, DIED_30, A)]),
    "i1_somatic_on_death_date_counts": (ALL_YEARS, [(2020, F, F, DIED_30, A)]),
    "i1_somatic_at_index_end_not": (ALL_YEARS, [(2020, T, F, None, A)]),
    "i2_short_psych_stay_not_population": (ALL_YEARS, []),
    "i2_open_psych_stay_population": (ALL_YEARS, []),
    "i2_psych_adm_from_2019_counts": (ALL_YEARS, [(2020, T, F, None, A)]),
    "n2_admitted_2020_belted_2021": (ALL_YEARS, [(2021, T, F, None, A)]),
}

I1_ROWS = {
    "i1_somatic_acute_day30_counts": ((2020,), [(2020, T, T, None, A)]),
    "i1_somatic_at_index_end_not": ((2020,), [(2020, T, F, None, A)]),
    "i1_somatic_day30_plus_1min_not": ((2020,), [(2020, T, F, None, A)]),
    "i1_somatic_planned_not": ((2020,), [(2020, T, F, None, A)]),
    "i1_somatic_short_not_admission": ((2020,), [(2020, T, F, None, A)]),
    # death 04-25 within 30 days of both discharges (04-01, 04-10), no acute somatic admission
    "i1_psych_readm_then_death": ((2020,), [(2020, F, F, DIED_30, A), (2020, F, F, DIED_30, A)]),
    "i1_somatic_on_death_date_counts": ((2020,), [(2020, T, T, None, A)]),
    "i1_open_somatic_admission_counts": ((2019,), [(2019, T, T, None, A)]),
    # psychiatric readmissions are not I1 events; death 15 days after the first index
    "p4_readm_day30_counts": ((2020,), [(2020, T, F, None, A), (2020, T, F, None, A)]),
    "p4_readm_on_death_date_counts": ((2020,), [(2020, F, F, DIED_30, A), (2020, F, F, DIED_STAY, A)]),
}

I2_ROWS = {  # year, in_denominator, in_numerator
    "i1_somatic_acute_day30_counts": ((2020,), [(2020, T, T)]),
    "i1_psych_readm_then_death": ((2020,), [(2020, T, F)]),
    "i2_somatic_outpatient_counts": ((2020,), [(2020, T, T)]),
    "i2_somatic_virtual_not": ((2020,), [(2020, T, F)]),
    "i2_psych_adm_from_2019_counts": ((2019, 2020), [(2019, T, F), (2020, T, T)]),
    "i2_somatic_started_2019_not": ((2019, 2020), [(2020, T, F)]),
    "i2_short_psych_stay_not_population": ((2020,), []),
    "i1_open_somatic_admission_counts": ((2019, 2020), [(2019, T, T)]),
    "i2_open_psych_stay_population": ((2020, 2021), [(2020, T, F), (2021, T, T)]),
}

N2_ROWS = {  # year, in_denominator (admitted), in_numerator (belted)
    "n2_belted_and_admitted": ((2020,), [(2020, T, T)]),
    "n2_belted_not_admitted": ((2020,), [(2020, F, T)]),
    "n2_voluntary_belt_only": ((2020,), [(2020, T, F)]),
    "n2_belt_in_somatics_not": ((2020,), []),
    "n2_admitted_2020_belted_2021": ((2020, 2021), [(2020, T, F), (2021, T, T)]),
    "p2_voluntary_belt_not_coercion": ((2020,), []),
}

# year, form, tvangstype, in_numerator, exclusion_reason, counted_coercion, age_group, reporting_region
P2_ROWS = {
    "p2_voluntary_belt_not_coercion": ((2020,), [(2020, 3, "baelte", F, VOL_BELT, F, ANY, 84)]),
    "p2_voluntary_tvangsmedicinering_is_coercion": ((2020,), [(2020, 2, "tvangsmedicinering", T, None, T, A, 84)]),
    "p2_forms_4_5_only_not_person": ((2020,), [
        (2020, 4, "personlig_skaermning", T, None, F, A, 84), (2020, 5, "koordinationsplan", T, None, F, A, 84),
    ]),
    "p2_somatik_not_counted": ((2020,), [(2020, 3, "fastholdelse", F, NOT_PSYCH, F, ANY, 84)]),
    "p2_child_17_first_measure_turns_18": ((2020,), [
        (2020, 3, "remme", T, None, T, C, 84), (2020, 3, "beroligende_medicin", T, None, T, C, 84),
    ]),
    "p2_child_16_forced_admission": ((2020,), [(2020, 1, "tvangsindlaeggelse", T, None, T, C, 84)]),
    "p2_age18_on_measure_day_adult": ((2020,), [(2020, 1, "tvangstilbageholdelse", T, None, T, A, 84)]),
    "p2_two_reporting_regions": ((2020,), [
        (2020, 2, "tvangsmedicinering", T, None, T, A, 84), (2020, 3, "fastholdelse", T, None, T, A, 82),
    ]),
    "p2_measure_dec31_2019_not_2020": ((2019, 2020), [(2019, 3, "fastholdelse", T, None, T, A, 83)]),
    "p2_not_in_bef_unknown_age": ((2020,), [(2020, 1, "tvangsindlaeggelse", T, None, T, U, 84)]),
    "p2_first_measure_voluntary_belt_then_adult": ((2019,), [
        (2019, 3, "baelte", F, VOL_BELT, F, ANY, 84), (2019, 3, "fastholdelse", T, None, T, A, 84),
    ]),
    "n2_belted_and_admitted": ((2020,), [(2020, 3, "baelte", T, None, T, A, 84)]),
    "n2_belted_not_admitted": ((2020,), [(2020, 3, "baelte", T, None, T, A, 85)]),
    "n2_voluntary_belt_only": ((2020,), [(2020, 3, "baelte", F, VOL_BELT, F, ANY, 84)]),
    "n2_belt_in_somatics_not": ((2020,), [(2020, 3, "baelte", F, NOT_PSYCH, F, ANY, 84)]),
    "n2_admitted_2020_belted_2021": ((2020, 2021), [(2021, 3, "baelte", T, None, T, A, 84)]),
}

P3_ROWS = {  # year, in_denominator, in_numerator, suicide, attempt
    "p3_selfharm_somatic_contact_counts": ((2017,), [(2017, T, T, F, T)]),
    "p3_suicide_death_counts": ((2017,), [(2017, T, T, T, F)]),
    "p3_death_other_cause_not": ((2017,), [(2017, T, F, F, F)]),
    "p3_selfharm_dec31_2016_not": ((2017,), [(2017, T, F, F, F)]),
    "p3_dx849_counts": ((2017,), [(2017, T, T, F, T)]),
    "p3_dx850_not_selfharm": ((2017,), [(2017, T, F, F, F)]),
    "p3_selfharm_no_psych_contact_not_population": ((2017,), []),
    "p3_selfharm_afkraeftet_not": ((2020, 2021), [(2020, T, F, F, F), (2021, T, F, F, F)]),
    "p3_selfharm_lpr3_counts": ((2020, 2021), [(2020, T, T, F, T), (2021, T, F, F, F)]),
    "p3_action_diag_counts_despite_refuted_row": ((2020, 2021), [(2020, T, T, F, T), (2021, T, F, F, F)]),
}

P5_ROWS = {  # year, in_denominator, in_numerator, exclusion_reason
    "p5_absent_from_dream_retained": ((2017,), [(2017, T, T, None)]),
    "p5_sickpay_at_182_not_retained": ((2017,), [(2017, T, F, None)]),
    "p5_not_employed_before": ((2017,), [(2017, F, F, P5_BUSY)]),
    "p5_death_day182_left_out": ((2017,), [(2017, F, F, P5_DIED)]),
    "p5_death_day183_kept": ((2017,), [(2017, T, T, None)]),
    "p5_age64_at_start_kept": ((2017,), [(2017, T, T, None)]),
    "p5_age65_at_start_not": ((2017,), [(2017, F, F, P5_AGE)]),
    "p5_first_admission_by_end_only": ((2017,), [(2017, T, T, None)]),
    "p5_start_minus28_isoyear_2016_w52": ((2017,), [(2017, F, F, P5_BUSY)]),
    "p5_outside_extract_start": ((2016,), [(2016, F, F, P5_OUTSIDE)]),
    "p5_first_by_end_age17_not_replaced": ((2019,), [(2019, F, F, P5_AGE)]),
    "p5_followup_week53_not_retained": ((2020,), [(2020, T, F, None)]),
    "p5_start_minus28_in_week53_not_employed": ((2021,), [(2021, F, F, P5_BUSY)]),
    "p5_followup_outside_extract_end": ((2021,), [(2021, F, F, P5_OUTSIDE)]),
}

P6_ROWS = {  # year, in_denominator, in_numerator, exclusion_reason (ISO 2020 has 53 weeks)
    "p6_26_empty_weeks_counts": ((2020,), [(2020, T, T, None)]),
    "p6_25_empty_weeks_not": ((2020,), [(2020, T, F, None)]),
    "p6_su_weeks_count": ((2020,), [(2020, T, T, None)]),
    "p6_su_plus_empty_26_counts": ((2020,), [(2020, T, T, None)]),
    "p6_absent_from_dream_counts": ((2020,), [(2020, T, T, None)]),
    "p6_age64_on_1july_in": ((2020,), [(2020, T, T, None)]),
    "p6_age65_on_1july_not": ((2020,), [(2020, F, F, P5_AGE)]),
    "p6_age18_on_1july_in": ((2020,), [(2020, T, T, None)]),
    "p6_par85_active_one_day_dec31": ((2020,), [(2020, T, F, None)]),
    "p6_ended_jan1_active_one_day": ((2020,), [(2020, T, F, None)]),
    "p6_ended_dec31_prev_year_not": ((2020,), []),
    "p6_starts_next_year_not": ((2020,), []),
    "p6_handicap_not": ((2020,), []),
    "p6_par103_not": ((2020,), []),
    "p6_two_supports_one_unit": ((2020,), [(2020, T, T, None)]),
}

N1_ROWS = {  # year, in_denominator, in_numerator, value (days), over_10_days
    "n1_zero_days_counts": ((2019,), [(2019, T, T, 0.0, F)]),
    "n1_earliest_of_two_markers": ((2019,), [(2019, T, T, 21.0, T)]),
    "n1_marker_before_stay_ignored": ((2019,), [(2019, T, T, 5.0, F)]),
    "n1_only_marker_after_stay_not": ((2019,), []),
    "n1_marker_on_start_date_11_days": ((2019,), [(2019, T, T, 11.0, T)]),
    "n1_ten_days_not_over_10": ((2019,), [(2019, T, T, 10.0, F)]),
    "n1_stay_across_lpr_switch": ((2018, 2019), [(2019, T, T, 5.0, F)]),
    "n1_lpr2_marker_2018": ((2018,), [(2018, T, T, 5.0, F)]),
}

N3_ROWS = {  # year, in_denominator, value (waiting days), exclusion_reason, age_group
    "n3_wait_10": ((2021,), [(2021, T, 10.0, None, A)]),
    "n3_wait_20": ((2021,), [(2021, T, 20.0, None, A)]),
    "n3_wait_0_same_day": ((2021,), [(2021, T, 0.0, None, A)]),
    "n3_child_age18_at_referral": ((2021,), [(2021, T, 35.0, None, C)]),
    "n3_adult_age19_at_referral": ((2021,), [(2021, T, 14.0, None, A)]),
    "n3_virtual_first_contact_counts": ((2021,), [(2021, T, 7.0, None, A)]),
    "n3_negative_wait_left_out": ((2021,), [(2021, F, -9.0, NEG_WAIT, A)]),
    "n3_two_courses_two_units": ((2021,), [(2021, T, 14.0, None, A), (2021, T, 3.0, None, A)]),
    "n3_first_contact_acute_not_unit": ((2021,), []),
    "n3_first_contact_somatic_not_unit": ((2021,), []),
    "n3_no_referral_date_not_unit": ((2021,), []),
    "n3_lpr2_earliest_planned_per_referral": ((2018,), [(2018, T, 9.0, None, A)]),
    "n3_lpr2_dup_in_lpr3_not_double": ((2018, 2019), [(2018, T, 14.0, None, A)]),
    "n3_lpr2_earliest_planned_not_acute": ((2018,), [(2018, T, 11.0, None, A)]),
}

N4_ROWS = {  # year, in_denominator, in_numerator (met), value (days referral -> marker), age_group
    "n4_day30_met_child18": ((2020,), [(2020, T, T, 30.0, C)]),
    "n4_day31_not_met": ((2020,), [(2020, T, F, 31.0, A)]),
    "n4_day31_justified_met": ((2020,), [(2020, T, T, 31.0, A)]),
    "n4_no_referral_not_met": ((2020,), [(2020, T, F, None, A)]),
    "n4_two_markers_earliest_decides": ((2020,), [(2020, T, T, 26.0, A)]),
    "n4_referral_earliest_among_contacts": ((2020,), [(2020, T, F, 35.0, A)]),
    "n4_markers_2019_and_2020_two_units": ((2019, 2020), [(2019, T, T, 19.0, A), (2020, T, F, 45.0, A)]),
    "n4_first_contact_somatic_not_unit": ((2020,), []),
    "n4_lpr2_referral_met": ((2018,), [(2018, T, T, 19.0, A)]),
}

N7_ROWS = {  # year, in_denominator (comparison group), in_numerator, psychiatric_contact, flags
    "n7_gymnasial_counts": ((2021,), [(2021, T, T, T, LOOKBACK)]),
    "n7_grundskole_not": ((2021,), [(2021, T, F, T, LOOKBACK)]),
    "n7_no_education_row_not": ((2021,), [(2021, T, F, T, LOOKBACK)]),
    "n7_ukendt_not": ((2021,), [(2021, T, F, T, LOOKBACK)]),
    "n7_contact_day_before_25th_counts": ((2021,), [(2021, T, T, T, LOOKBACK)]),
    "n7_contact_on_25th_birthday_not": ((2021,), [(2021, T, T, F, LOOKBACK)]),
    "n7_born_0229_contact_0228_counts": ((2021,), [(2021, T, T, T, LOOKBACK)]),
    "n7_not_in_bef_2021_not": ((2021,), []),
    "n7_comparison_erhvervsfaglig": ((2021,), [(2021, T, T, F, LOOKBACK)]),
    "n7_comparison_grundskole": ((2021,), [(2021, T, F, F, LOOKBACK)]),
}

N8_ROWS = {  # year, in_denominator (cohort), in_numerator (died), value (expected deaths), flags
    # band F 50-54 in bef 2017: 4 members, 2 deaths in 2017 -> 2/4 = 0.5
    "n8_cohort_f50_dies_2017": ((2017,), [(2017, T, T, 0.5, LOOKBACK)]),
    "n8_cohort_f50_alive": ((2017,), [(2017, T, F, 0.5, LOOKBACK)]),
    "n8_noncohort_f50_dies_2017": ((2017,), []),
    # band M 40-44 in bef 2017: 5 members (born 1973-05-05, 1974-04-04, 1975-01-01, 1976-06-06,
    # 1977-01-01 = 40 on 1 January), 1 death -> 1/5 = 0.2
    "n8_cohort_m40_alive": ((2017,), [(2017, T, F, 0.2, LOOKBACK)]),
    "n8_cohort_m_age40_on_jan1": ((2017,), [(2017, T, F, 0.2, LOOKBACK)]),
    "n8_noncohort_m40_dies_2017": ((2017,), []),
    "n8_noncohort_m39_dies_other_band": ((2017,), []),
    "n8_visit2016_not_in_bef2017": ((2017,), []),
    # band M 30-34: no death in 2017 -> 0
    "p5_outside_extract_start": ((2017,), [(2017, T, F, 0.0, LOOKBACK)]),
}

# P1 and N5/N6 units are respondents: keyed by unit_id (= respondent_id).
P1_ROWS = {  # year, in_denominator (16+, mcs given), in_numerator (mcs < 35.76), exclusion_reason, weight
    "p1_mcs_at_cutoff_not_below": ((2021,), [(2021, T, F, None, 2.0)]),
    "p1_mcs_just_below_counts": ((2021,), [(2021, T, T, None, 3.0)]),
    "p1_age25_not_youth": ((2021,), [(2021, T, T, None, 5.0)]),
    "p1_age15_not_population": ((2021,), [(2021, F, F, P1_UNDER16, 1.0)]),
    "p1_mcs_empty_excluded": ((2021,), [(2021, F, F, P1_NO_MCS, 4.0)]),
    "p1_youth_not_below": ((2021,), [(2021, T, F, None, 1.0)]),
    "p1_youth_below_small_weight": ((2021,), [(2021, T, T, None, 0.5)]),
    "p1_adult_not_below": ((2021,), [(2021, T, F, None, 2.5)]),
    "p1_2017_youth_below": ((2017,), [(2017, T, T, None, 1.5)]),
    "p1_2017_youth_not_below": ((2017,), [(2017, T, F, None, 2.5)]),
}

N5_ROWS = {  # year, in_denominator, in_numerator (4 or 5), exclusion_reason, age_group
    "n5_bu_5_n6_3": ((2020,), [(2020, T, T, None, C)]),
    "n5_bu_dontknow_n6_4": ((2020,), [(2020, F, F, DONT_KNOW, C)]),
    "n5_bu_3_n6_dontknow": ((2020,), [(2020, T, F, None, C)]),
    "n5_voksen_4_n6_4": ((2020,), [(2020, T, T, None, A)]),
    "n5_voksen_1_n6_5": ((2020,), [(2020, T, F, None, A)]),
    "n5_voksen_dontknow_both": ((2020,), [(2020, F, F, DONT_KNOW, A)]),
    "n5_voksen_5_n6_4": ((2020,), [(2020, T, T, None, A)]),
}
N6_ROWS = {
    "n5_bu_5_n6_3": ((2020,), [(2020, T, F, None, C)]),
    "n5_bu_dontknow_n6_4": ((2020,), [(2020, T, T, None, C)]),
    "n5_bu_3_n6_dontknow": ((2020,), [(2020, F, F, DONT_KNOW, C)]),
    "n5_voksen_4_n6_4": ((2020,), [(2020, T, T, None, A)]),
    "n5_voksen_1_n6_5": ((2020,), [(2020, T, T, None, A)]),
    "n5_voksen_dontknow_both": ((2020,), [(2020, F, F, DONT_KNOW, A)]),
    "n5_voksen_5_n6_4": ((2020,), [(2020, T, T, None, A)]),
}

# Residence of a unit (kom, region): the stay's last contact = latest start.
P4_RESIDENCE_ROWS = {
    "p4_last_contact_kom_residence": ((2020,), [(2020, 751, 82)]),
    "p4_readm_day30_counts": ((2020,), [(2020, 101, 84), (2020, 101, 84)]),
    "p4_not_in_bef_age_unknown": ((2020,), [(2020, 147, 84)]),  # from the contact (no bef)
    "p4_no_contact_kom_residence_from_bef": ((2020,), [(2020, 461, 83)]),  # bef 2020, not bef 2019
    "p4_last_contact_tie_latest_end": ((2019,), [(2019, 751, 82)]),
}

# (indicator id, columns, key column, expected rows per person / respondent)
UNIT_EXPECTATIONS: list[tuple[str, str, str, dict]] = [
    ("p4_genindlaeggelse", P4_COLS, "pnr", P4_ROWS),
    ("p4_genindlaeggelse", "year, kom, region_code", "pnr", P4_RESIDENCE_ROWS),
    ("i1_somatisk_efter_psykiatrisk", P4_COLS, "pnr", I1_ROWS),
    ("i2_somatisk_kontakt", "year, in_denominator, in_numerator", "pnr", I2_ROWS),
    ("n2_baeltefiksering", "year, in_denominator, in_numerator", "pnr", N2_ROWS),
    (
        "p2_tvang_personer",
        "year, form, tvangstype, in_numerator, exclusion_reason, counted_coercion, age_group, reporting_region",
        "pnr",
        P2_ROWS,
    ),
    ("p3_selvmord", "year, in_denominator, in_numerator, suicide, attempt", "pnr", P3_ROWS),
    ("p5_beskaeftigelse", "year, in_denominator, in_numerator, exclusion_reason", "pnr", P5_ROWS),
    ("p6_serviceloven", "year, in_denominator, in_numerator, exclusion_reason", "pnr", P6_ROWS),
    ("n1_faerdigbehandlingsdage", "year, in_denominator, in_numerator, value, over_10_days", "pnr", N1_ROWS),
    ("n3_ventetid", "year, in_denominator, value, exclusion_reason, age_group", "pnr", N3_ROWS),
    ("n4_udredningsret", "year, in_denominator, in_numerator, value, age_group", "pnr", N4_ROWS),
    ("n7_uddannelse", "year, in_denominator, in_numerator, psychiatric_contact, flags", "pnr", N7_ROWS),
    ("n8_overdoedelighed", "year, in_denominator, in_numerator, round(value, 9), flags", "pnr", N8_ROWS),
    ("p1_ung_mental_sundhed", "year, in_denominator, in_numerator, exclusion_reason, weight", "unit_id", P1_ROWS),
    ("n5_tilfredshed", "year, in_denominator, in_numerator, exclusion_reason, age_group", "unit_id", N5_ROWS),
    ("n6_inddragelse", "year, in_denominator, in_numerator, exclusion_reason, age_group", "unit_id", N6_ROWS),
]

UNIT_CASES = [
    pytest.param(n, who, id=f"{who}-{ind}" + ("-residence" if "kom" in cols else ""))
    for n, (ind, cols, _, by_person) in enumerate(UNIT_EXPECTATIONS)
    for who in by_person
]


# =============================================================================================
# Hand-computed national values (breakdown_level 'national', sex 'all').
# (indicator, measure, year, age_group, numerator, denominator, value); None = NULL.
# =============================================================================================

NATIONAL_VALUES = [
    # P4 2020. Index admissions ending 2020 (rows of P4_ROWS plus the one-row persons of I1/I2/N2/P5):
    #   p4_* persons: readm_day30 2 + plus_1min 2 + not_acute 2 + death_day31 1 + readm_on_death_date 1
    #     + age17 2 + age18 1 + chain_4h 1 + gap_4h01 2 + 12h 2 + 11h59 1 + not_in_bef 1
    #     + tie_at_earliest_start 2 + chain_latest_end 1 + last_contact_kom 1 + no_contact_kom 1
    #     + readm_earliest_contact_planned 2 = 25
    #   i1_*: acute_day30, at_end, plus_1min, planned, short, psych_readm_then_death (first) = 6
    #   i2_*: outpatient, virtual, from_2019 (ends 2020-01-05), started_2019 = 4
    #   n2_belted_and_admitted, n2_voluntary_belt_only = 2; p5_followup_week53_not_retained = 1
    #   denominator 25 + 6 + 4 + 2 + 1 = 38 (left out: death_day30, readm_on_death_date's 2nd,
    #   death_in_stay, i1_psych_readm_then_death's 2nd, i1_somatic_on_death_date)
    #   numerator: readm_day30, readm_on_death_date, age17 (child), gap_4h01, 12h, tie_at_earliest_start,
    #   i1_psych_readm = 7
    ("p4_genindlaeggelse", "share", 2020, "all", 7, 38, 100 * 7 / 38),
    ("p4_genindlaeggelse", "share", 2020, "children", 1, 1, 100.0),  # p4_age17's first index
    # adults: 38 - 1 child - 1 unknown (p4_not_in_bef) = 36; numerator 7 - 1 = 6
    ("p4_genindlaeggelse", "share", 2020, "adults", 6, 36, 100 * 6 / 36),
    # I1 2020: the same 38 indexes, minus p4_readm_on_death_date's first (death 15 days later, no acute
    # somatic admission) and i1_psych_readm_then_death's first, plus i1_somatic_on_death_date (somatic
    # admission on the death date) = 37; numerator: i1_somatic_acute_day30, i1_somatic_on_death_date
    ("i1_somatisk_efter_psykiatrisk", "share", 2020, "all", 2, 37, 100 * 2 / 37),
    # I2 2020: persons with a psychiatric admission overlapping 2020: the 19 p4_* persons with a
    # 2020 admission (incl. the 3 who died), 7 i1_*, 5 i2_* (not the 6-hour stay; the open stay
    # yes), 3 n2_* (incl. admitted 2020-12-20..2021-01-03), p5_followup_week53 = 35; numerator
    # (somatic physical contact starting 2020): 6 i1_* (not psych_readm_then_death), i2 outpatient,
    # i2 from_2019 = 8
    ("i2_somatisk_kontakt", "share", 2020, "all", 8, 35, 100 * 8 / 35),
    # N2 2020: belted persons n2_belted_and_admitted, n2_belted_not_admitted = 2; admitted = the 35 above
    ("n2_baeltefiksering", "share", 2020, "all", 2, 35, 100 * 2 / 35),
    # P2 2020 persons: voluntary_tvangsmedicinering, two_reporting_regions, age18, n2_belted x2 (adults
    # 5); child_17, child_16 (children 2); p2_not_in_bef_unknown_age (total only) -> 8
    ("p2_tvang_personer", "persons", 2020, "all", 8, None, 8.0),
    ("p2_tvang_personer", "persons", 2020, "children", 2, None, 2.0),
    ("p2_tvang_personer", "persons", 2020, "adults", 5, None, 5.0),
    # measures by form (psychiatry, no voluntary belts; noise has no 2020 measures):
    # form 1: child_16, age18, not_in_bef = 3; form 2: voluntary_tvangsmedicinering, two_regions = 2;
    # form 3: child_17 x2, two_regions, n2 belts x2 = 5; form 4: 1; form 5: 1; total 12
    ("p2_tvang_personer", "measures_form_1", 2020, "all", 3, None, 3.0),
    ("p2_tvang_personer", "measures_form_2", 2020, "all", 2, None, 2.0),
    ("p2_tvang_personer", "measures_form_3", 2020, "all", 5, None, 5.0),
    ("p2_tvang_personer", "measures_form_4", 2020, "all", 1, None, 1.0),
    ("p2_tvang_personer", "measures_form_5", 2020, "all", 1, None, 1.0),
    ("p2_tvang_personer", "measures_total", 2020, "all", 12, None, 12.0),
    # P3 2017: population = psychiatric contacts starting 2016 or 2017: 2016: the 5 n8_* persons with
    # a 2016 visit (incl. n8_visit2016_not_in_bef2017) + p5_outside_extract_start = 6; 2017: p3_* x6
    # (not the one without a psychiatric contact), p5_* with 2017 admissions x9, p4_std2017 x2 = 17
    # -> 23. Numerator: p3_selfharm_somatic_contact, p3_suicide_death, p3_dx849 = 3
    ("p3_selvmord", "rate_per_1000", 2017, "all", 3, 23, 1000 * 3 / 23),
    ("p3_selvmord", "suicides", 2017, "all", 1, None, 1.0),
    ("p3_selvmord", "attempts", 2017, "all", 2, None, 2.0),
    # P5 2017: first admissions ending 2017, 18-64 at start: absent_retained, sickpay, death_day183,
    # age64, first_admission_by_end (denominator 5; the p4_std2017 persons are 67 and 14);
    # numerator: all but sickpay = 4
    ("p5_beskaeftigelse", "share", 2017, "all", 4, 5, 80.0),
    # P6 2020: 10 in the population (see P6_ROWS), 7 with >= 26 empty/SU weeks
    ("p6_serviceloven", "share", 2020, "all", 7, 10, 70.0),
    # N1 2019: 0 + 21 + 5 + 11 + 10 + 5 = 52 days over 6 admissions (noise markers are somatic);
    # residents on 1 January 2019: the bef_2019 file has 170 rows (30 noise + 140 named persons,
    # checked against the world below)
    ("n1_faerdigbehandlingsdage", "days_total", 2019, "all", 52, 6, 52.0),
    ("n1_faerdigbehandlingsdage", "admissions_with_days", 2019, "all", 6, None, 6.0),
    ("n1_faerdigbehandlingsdage", "days_per_1000", 2019, "all", 52, 170, 1000 * 52 / 170),
    # more than 10 days: 21 and 11 (not the 10) -> 2 of 6
    ("n1_faerdigbehandlingsdage", "share_over_10_days", 2019, "all", 2, 6, 100 * 2 / 6),
    # N3 2021: waits 10, 20, 0, 35, 14, 7, 14, 3 (negative left out) -> n = 8, sum 103,
    # mean 12.875; sorted 0 3 7 10 | 14 14 20 35 -> median (10 + 14) / 2 = 12
    ("n3_ventetid", "mean", 2021, "all", 103, 8, 12.875),
    ("n3_ventetid", "median", 2021, "all", 103, 8, 12.0),
    ("n3_ventetid", "mean", 2021, "children", 35, 1, 35.0),
    # adults: 0 3 7 10 14 14 20 -> sum 68, n 7, median 10
    ("n3_ventetid", "mean", 2021, "adults", 68, 7, 68 / 7),
    ("n3_ventetid", "median", 2021, "adults", 68, 7, 10.0),
    # N3 2018 (LPR2): 9, 14 (the LPR3 'LPR2' copy is dropped), 11 -> sum 34, n 3, mean 34/3, median 11
    ("n3_ventetid", "mean", 2018, "all", 34, 3, 34 / 3),
    ("n3_ventetid", "median", 2018, "all", 34, 3, 11.0),
    # N4 2020: 7 units, met: day30_child18, day31_justified, two_markers = 3
    ("n4_udredningsret", "share", 2020, "all", 3, 7, 100 * 3 / 7),
    ("n4_udredningsret", "share", 2020, "children", 1, 1, 100.0),
    ("n4_udredningsret", "share", 2020, "adults", 2, 6, 100 * 2 / 6),
    # N5 2020: named answers 5, 3 (bu) and 4, 1, 5 (voksen) = 3 of 5; noise: 20 answers 1..5 x 4,
    # 8 of them 4-5 -> all 11/25; children 1/2; adults 10/23
    ("n5_tilfredshed", "share", 2020, "all", 11, 25, 44.0),
    ("n5_tilfredshed", "share", 2020, "children", 1, 2, 50.0),
    ("n5_tilfredshed", "share", 2020, "adults", 10, 23, 100 * 10 / 23),
    # N6 2020: named answers 3, 4 (bu) and 4, 5, 4 (voksen) = 4 of 5; noise 8 of 20 -> 12/25
    ("n6_inddragelse", "share", 2020, "all", 12, 25, 48.0),
    ("n6_inddragelse", "share", 2020, "children", 1, 2, 50.0),
    ("n6_inddragelse", "share", 2020, "adults", 11, 23, 100 * 11 / 23),
    # N7 2021: population 6 (gymnasial, grundskole, no_row, ukendt, day_before_25th, born_0229),
    # completed 3 (gymnasial x2, lang_videregaaende); comparison: 9 born 1996 in bef 2021 (not
    # not_in_bef_2021), completed 5 (+ erhvervsfaglig x2: on_25th_birthday, comparison_erhvervsfaglig)
    ("n7_uddannelse", "share", 2021, "all", 3, 6, 50.0),
    ("n7_uddannelse", "share_comparison", 2021, "all", 5, 9, 100 * 5 / 9),
    # N8 2017: O = 1 (n8_cohort_f50_dies_2017); E = 0.5 + 0.5 + 0.2 + 0.2 + 0 = 1.4; SMR = 1/1.4
    ("n8_overdoedelighed", "smr", 2017, "all", 1, 1.4, 1 / 1.4),
    ("n8_overdoedelighed", "deaths", 2017, "all", 1, None, 1.0),
    # P1 2021, 16-24 with mcs: cutoff (w 2, not below), just_below (3, below), youth_not_below (1),
    # below_small_weight (0.5, below): (3 + 0.5) / (2 + 3 + 1 + 0.5) = 3.5 / 6.5; counts 2 of 4
    ("p1_ung_mental_sundhed", "share", 2021, "all", 2, 4, 100 * 3.5 / 6.5),
    # 16+: add age25 (5, below) and adult_not_below (2.5): (3 + 0.5 + 5) / (6.5 + 5 + 2.5) = 8.5 / 14
    ("p1_ung_mental_sundhed", "share_16plus", 2021, "all", 3, 6, 100 * 8.5 / 14),
    # P1 2017: 1.5 / (1.5 + 2.5) = 37.5 %
    ("p1_ung_mental_sundhed", "share", 2017, "all", 1, 2, 37.5),
]

# P2 2020 persons by reporting region: 84: voluntary_tvangsmedicinering, child_17, child_16, age18,
# two_regions, n2_belted_and_admitted, not_in_bef = 7; 82: two_regions = 1; 85: n2_belted_not_admitted
# = 1 (9 in all > 8 nationally: a person is counted in each region).
P2_REPORTING_REGIONS = {"84": 7, "82": 1, "85": 1, "81": 0, "83": 0}


# =============================================================================================
# The run (once per module) and the tests.
# =============================================================================================


@pytest.fixture(scope="module")
def edge_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, duckdb.DuckDBPyConnection, Path]]:
    root = tmp_path_factory.mktemp("edge_world")
    raw, wh, marts, exports = root / "raw", root / "warehouse.duckdb", root / "marts", root / "exports"
    write_world(raw)
    saved = dict(os.environ)
    # An ephemeral Dagster instance and no configured data end: data end comes from the data.
    for key in ("DAGSTER_HOME", "PSYK_DATA_END"):
        os.environ.pop(key, None)
    try:
        code = cli.main([
            "run", "--raw-dir", str(raw), "--warehouse", str(wh), "--marts-dir", str(marts),
            "--exports-dir", str(exports), "--years", "2016-2021",
        ])
    finally:  # the runner exports its settings to the environment; restore ours
        os.environ.clear()
        os.environ.update(saved)
    con = duckdb.connect(str(wh), read_only=True)
    yield code, con, root
    con.close()


@pytest.fixture(scope="module")
def con(edge_run: tuple[int, duckdb.DuckDBPyConnection, Path]) -> duckdb.DuckDBPyConnection:
    """The warehouse after the run. The exit code is asserted by `test_run_exits_zero`; the unit tables
    are written before the marts, so a failing mart step does not hide the per-person results."""
    return edge_run[1]


def test_run_exits_zero(edge_run: tuple[int, duckdb.DuckDBPyConnection, Path]) -> None:
    assert edge_run[0] == 0


def test_world_sanity() -> None:
    """Checks on the world itself (not the pipeline), backing the hand counts above."""
    w = build_world()
    bef2019 = w.rows[("bef", 2019)]
    assert len(bef2019) == 170
    assert sum(r["pnr"].startswith("noise_") for r in bef2019) == N_NOISE
    assert len({r["pnr"] for r in bef2019}) == 170
    # every person id used as an expectation key exists in the world
    people = set(named_persons(w))
    for ind, _, key, by_person in UNIT_EXPECTATIONS:
        if key == "pnr":
            assert set(by_person) <= people, (ind, set(by_person) - people)


def test_nothing_quarantined(con: duckdb.DuckDBPyConnection) -> None:
    """Every row of the world follows the register contract, so nothing may be quarantined."""
    tables = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'quarantine'"
    ).fetchall()]
    bad = {}
    for t in tables:
        n = con.execute(f'select count(*) from quarantine."{t}"').fetchall()[0][0]
        if n:
            reasons = con.execute(f'select _reasons, count(*) from quarantine."{t}" group by 1').fetchall()
            bad[t] = reasons
    assert not bad


def test_every_row_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Each register file of the world is staged completely (rows per register and file year as written)."""
    w = build_world()
    expected = {(reg, year): len(rows) for (reg, year), rows in w.rows.items() if rows}
    expected[("dream", None)] = len(w.dream_rows)
    got = {}
    for reg in {reg for reg, _ in expected}:
        for year, n in con.execute(f"select _year, count(*) from staging.{reg} group by 1").fetchall():
            got[(reg, year)] = n
    assert got == expected


def _matches(actual: list[tuple], expected: list[tuple]) -> bool:
    """Order-free equality of two row lists; ANY in an expected row matches any value."""
    left = list(actual)
    for row in expected:
        for i, cand in enumerate(left):
            if len(cand) == len(row) and all(e == a for e, a in zip(row, cand, strict=True)):
                del left[i]
                break
        else:
            return False
    return not left


@pytest.mark.parametrize(("case", "who"), UNIT_CASES)
def test_unit_rows(con: duckdb.DuckDBPyConnection, case: int, who: str) -> None:
    indicator, columns, key, by_person = UNIT_EXPECTATIONS[case]
    years, expected = by_person[who]
    # identifiers come from the literals above, never from input; values are bound
    rows = con.execute(
        f"select {columns} from units.{indicator} where {key} = $who and list_contains($years, year)",
        {"who": who, "years": list(years)},
    ).fetchall()
    assert _matches(rows, expected), f"{who} in units.{indicator}: expected {expected}, got {sorted(map(repr, rows))}"


@pytest.mark.parametrize(
    ("indicator", "measure", "year", "age_group", "numerator", "denominator", "value"),
    [pytest.param(*v, id=f"{v[0]}-{v[1]}-{v[2]}-{v[3]}") for v in NATIONAL_VALUES],
)
def test_national_value(
    con: duckdb.DuckDBPyConnection, indicator: str, measure: str, year: int, age_group: str,
    numerator: float, denominator: float | None, value: float,
) -> None:
    rows = con.execute(
        """select numerator, denominator, value from marts.indicator_values
           where indicator_id = $i and measure = $m and year = $y and breakdown_level = 'national'
             and sex = 'all' and age_group = $a""",
        {"i": indicator, "m": measure, "y": year, "a": age_group},
    ).fetchall()
    assert len(rows) == 1, f"{indicator}/{measure}/{year}/{age_group}: {len(rows)} national rows"
    num, den, val = rows[0]
    assert num == pytest.approx(numerator), "numerator"
    if denominator is None:
        assert den is None, "denominator"
    else:
        assert den == pytest.approx(denominator), "denominator"
    assert val == pytest.approx(value), "value"


@pytest.mark.parametrize(("region", "persons"), sorted(P2_REPORTING_REGIONS.items()))
def test_p2_persons_by_reporting_region(con: duckdb.DuckDBPyConnection, region: str, persons: int) -> None:
    rows = con.execute(
        """select numerator from marts.indicator_values
           where indicator_id = 'p2_tvang_personer' and measure = 'persons' and year = 2020
             and breakdown_level = 'reporting_region' and breakdown_key = $k and sex = 'all' and age_group = 'all'""",
        {"k": region},
    ).fetchall()
    assert rows == [(pytest.approx(persons),)]
