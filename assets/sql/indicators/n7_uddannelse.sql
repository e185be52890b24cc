-- N7 completed youth education among young people with mental illness: one unit per person turning
-- $age (25) in Y and present in bef of Y (core.residence of Y) - the comparison group. `psychiatric_contact`
-- marks the population proper: a psychiatric contact (any type) starting on or after the person's
-- $contact_from_age (15th) birthday and before the $age (25th) (completed years, so a 29 February birthday
-- falls on 1 March in non-leap years).
-- Numerator: `uddannelse` of Y shows a level in $completed_levels (above grundskole, not ukendt); no row
-- there means not completed. Flag `incomplete_lookback` when the 15th birthday's year lies before the
-- first LPR year in the data.
with first_lpr as (
    select min(source_year) as first_year from core.contacts
),
pop as (
    select r.year::integer as year, r.pnr, r.kom, p.koen, p.foed_dag
    from core.residence r
    join core.persons p on p.pnr = r.pnr
    where r.year between $year_from and $year_to
      and year(p.foed_dag) = r.year - $age
),
ill as (
    select distinct pop.pnr, pop.year
    from pop
    join core.contacts c
      on c.pnr = pop.pnr and c.psychiatric
     and completed_years(pop.foed_dag, c.start_ts::date) >= $contact_from_age
     and completed_years(pop.foed_dag, c.start_ts::date) < $age
    -- implied by the ages (born in Y - $age): only contacts from 1 January Y - $age + $contact_from_age
    -- to 31 December Y can count, so the scan reads only those years
    where c.start_ts >= make_timestamp($year_from - $age + $contact_from_age, 1, 1, 0, 0, 0)
      and c.start_ts < make_timestamp($year_to + 1, 1, 1, 0, 0, 0)
),
educated as (
    -- of the persons turning $age only (a semi join first, not a distinct over every education row)
    select distinct e.pnr, e.year
    from core.education e
    semi join pop on pop.pnr = e.pnr and pop.year = e.year
    where e.year between $year_from and $year_to and list_contains($completed_levels, e.hfaudd_niveau)
)
select
    pop.year,
    pop.pnr as unit_id,
    pop.pnr,
    true as in_denominator,
    e.pnr is not null as in_numerator,
    null::varchar as exclusion_reason,
    sex_label(pop.koen) as sex,
    completed_years(pop.foed_dag, make_date(pop.year, 12, 31)) as age,
    $age::varchar as age_group,
    pop.kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    null::double as value,
    case when year(pop.foed_dag) + $contact_from_age < (select first_year from first_lpr)
        then 'incomplete_lookback' end as flags,
    i.pnr is not null as psychiatric_contact
from pop
left join ill i on i.pnr = pop.pnr and i.year = pop.year
left join educated e on e.pnr = pop.pnr and e.year = pop.year
left join ref.geography g on g.kom = pop.kom
