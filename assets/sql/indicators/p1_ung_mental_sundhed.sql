-- P1 youth with poor mental health: one unit per survey respondent (sundhedsprofil) of the year.
-- Left out: age below $min_age (`under_min_age`); empty `mcs` (`mcs_missing`). in_numerator: mcs strictly
-- below $mcs_cutoff (35.76; a score exactly at the cut-off is not below). `weight` = the survey weight.
-- age_group: $min_age-$youth_max_age (the headline population) or older; the catalogue's measures filter
-- on `age` for the 16-24 headline and use every unit for the 16+ population.
select
    s.year::integer as year,
    s.respondent_id::varchar as unit_id,
    s.pnr,
    coalesce(s.alder >= $min_age, false) and s.mcs is not null as in_denominator,
    coalesce(s.alder >= $min_age, false) and s.mcs is not null and s.mcs < $mcs_cutoff as in_numerator,
    case when s.alder is null or s.alder < $min_age then 'under_min_age'
         when s.mcs is null then 'mcs_missing' end as exclusion_reason,
    sex_label(s.koen) as sex,
    s.alder::integer as age,
    case
        when s.alder is null then 'unknown'
        when s.alder < $min_age then 'under_' || $min_age::varchar
        when s.alder <= $youth_max_age then $min_age::varchar || '-' || $youth_max_age::varchar
        else ($youth_max_age + 1)::varchar || '+'
    end as age_group,
    s.kom::integer as kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    s.vaegt::double as weight,
    s.mcs::double as value,
    null::varchar as flags
from core.survey s
left join ref.geography g on g.kom = s.kom
where s.year between $year_from and $year_to
