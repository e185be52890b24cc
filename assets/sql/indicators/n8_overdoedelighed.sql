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
bef as (
    select
        r.year::integer as year, r.pnr, r.kom, p.koen,
        completed_years(p.foed_dag, make_date(r.year, 1, 1)) as age
    from core.residence r
    join core.persons p on p.pnr = r.pnr
    where r.year between $year_from and $year_to
),
banded as (
    select
        b.*,
        least(floor(b.age / $band_width) * $band_width, $top_band)::integer as band_from,
        coalesce(year(d.doddato) = b.year, false) as died
    from bef b
    left join core.deaths d on d.pnr = b.pnr
),
rates as (
    select year, koen, band_from, avg(died::integer)::double as death_rate
    from banded
    group by year, koen, band_from
),
cohort as (
    select distinct b.year, b.pnr
    from banded b
    join core.contacts c
      on c.pnr = b.pnr and c.psychiatric
     and year(c.start_ts) between b.year - $lookback_years and b.year - 1
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
from cohort c
join banded b on b.pnr = c.pnr and b.year = c.year
join rates r on r.year = b.year and r.koen is not distinct from b.koen and r.band_from is not distinct from b.band_from
left join ref.geography g on g.kom = b.kom
