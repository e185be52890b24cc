-- N8 excess mortality: one unit per cohort member and year.
-- Cohort: persons in bef of Y (core.residence of Y) with a psychiatric contact (any type) starting in
-- Y-$lookback_years .. Y-1. in_numerator: died in Y (observed).
-- `value` = expected deaths for the member: the death rate in Y of the whole bef-of-Y population of the
-- same sex and $band_width-year age band (age on 1 January Y; bands 0-4, 5-9, ..., $top_band+), i.e.
-- deaths in Y among that band's members of bef Y divided by their number. SMR = sum(observed)/sum(value).
-- Flag `incomplete_lookback` when Y-$lookback_years lies before the first LPR year in the data.
with first_lpr as (
    select min(source_year) as first_year from core.contacts
),
person_deaths as materialized (
    -- persons with their death year, joined to the whole population's bef rows in one probe per row
    -- (two joins over the 92 M national bef rows cost 15 % more)
    select p.pnr, p.koen, p.foed_dag, year(d.doddato) as death_year
    from core.persons p
    left join core.deaths d on d.pnr = p.pnr
),
banded as (
    -- the whole bef population of each year (for the death rates): sex, age band, died in the year
    select
        r.year::integer as year,
        r.pnr,
        p.koen,
        least(floor(completed_years(p.foed_dag, make_date(r.year, 1, 1)) / $band_width) * $band_width, $top_band)::integer
            as band_from,
        coalesce(p.death_year = r.year, false) as died
    from core.residence r
    join person_deaths p on p.pnr = r.pnr
    where r.year between $year_from and $year_to
),
rates as (
    select year, koen, band_from, avg(died::integer)::double as death_rate
    from banded
    group by year, koen, band_from
),
contact_years as (
    -- each person's years with a psychiatric contact start, once (not every contact x every bef year)
    select distinct pnr, year(start_ts)::integer as contact_year
    from core.contacts
    where psychiatric
      and year(start_ts) between $year_from - $lookback_years and $year_to - 1
),
cohort as (
    -- the indicator years whose look-back Y-$lookback_years .. Y-1 holds one of those years
    select distinct cy.pnr, (cy.contact_year + k.k)::integer as year
    from contact_years cy
    cross join (select unnest(range(1, $lookback_years + 1)) as k) k
    where cy.contact_year + k.k between $year_from and $year_to
),
b as (
    -- cohort members present in bef of Y (joins on the small cohort, not on the whole population)
    select
        c.year,
        c.pnr,
        r.kom,
        p.koen,
        completed_years(p.foed_dag, make_date(c.year, 1, 1)) as age,
        least(floor(completed_years(p.foed_dag, make_date(c.year, 1, 1)) / $band_width) * $band_width, $top_band)::integer
            as band_from,
        coalesce(year(d.doddato) = c.year, false) as died
    from cohort c
    join core.residence r on r.pnr = c.pnr and r.year = c.year
    join core.persons p on p.pnr = c.pnr
    left join core.deaths d on d.pnr = c.pnr
)
select
    b.year,
    b.pnr as unit_id,
    b.pnr,
    true as in_denominator,
    b.died as in_numerator,
    null::varchar as exclusion_reason,
    sex_label(b.koen) as sex,
    b.age,
    case when b.band_from >= $top_band then b.band_from::varchar || '+'
         else b.band_from::varchar || '-' || (b.band_from + $band_width - 1)::varchar end as age_group,
    b.kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    r.death_rate as value,
    case when b.year - $lookback_years < (select first_year from first_lpr) then 'incomplete_lookback' end as flags
from b
join rates r on r.year = b.year and r.koen is not distinct from b.koen and r.band_from is not distinct from b.band_from
left join ref.geography g on g.kom = b.kom
