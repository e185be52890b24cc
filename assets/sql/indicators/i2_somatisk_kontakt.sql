-- I2 somatic hospital care among psychiatric inpatients: one unit per person and year.
-- Population: persons with a psychiatric admission overlapping Y (start on or before 31 December Y, end
-- on or after 1 January Y, or open and an admission by data end).
-- Numerator: at least one somatic physical-attendance contact starting in Y.
-- Age on $age_ref_month/$age_ref_day of Y; residence = bef on 1 January Y (else the latest earlier).
with admitted as (
    -- a stay overlaps every year from its start year to its end year (open: to the last run year);
    -- unnest of that range instead of a range join keeps this linear in the stays
    select distinct pnr, year
    from (
        select s.pnr, unnest(range(year(s.start_ts), coalesce(year(s.end_ts), $year_to) + 1))::integer as year
        from core.stays s
        where s.psychiatric and s.is_admission
          and year(s.start_ts) <= $year_to and (s.end_ts is null or year(s.end_ts) >= $year_from)
    )
    where year between $year_from and $year_to
),
somatic as (
    select distinct pnr, year(start_ts)::integer as year
    from core.contacts
    where not psychiatric and physical and year(start_ts) between $year_from and $year_to
),
attrs as (
    select
        a.*,
        s.pnr is not null as somatic_contact,
        p.koen,
        completed_years(p.foed_dag, make_date(a.year, $age_ref_month, $age_ref_day)) as age,
        r.kom
    from admitted a
    left join somatic s on s.pnr = a.pnr and s.year = a.year
    left join core.persons p on p.pnr = a.pnr
    left join residence_asof(admitted) r on r.pnr = a.pnr and r.year = a.year
)
select
    a.year,
    a.pnr as unit_id,
    a.pnr,
    true as in_denominator,
    a.somatic_contact as in_numerator,
    null::varchar as exclusion_reason,
    sex_label(a.koen) as sex,
    a.age,
    child_adult(a.age, $child_max_age) as age_group,
    a.kom,
    g.region_code,
    g.region2027_code,
    g.sundhedsraad_code,
    1.0::double as weight,
    null::double as value,
    null::varchar as flags
from attrs a
left join ref.geography g on g.kom = a.kom
