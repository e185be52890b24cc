-- N2 share of admitted persons who were belt-fixated: one unit per person and year who is belted, admitted
-- or both. As in the published indicator the numerator and the denominator are two separate counts:
--   belted    (in_numerator):   a `$belt_type` measure in psychiatry (any form), not voluntary, starting in Y;
--   admitted  (in_denominator): a psychiatric admission overlapping Y (start on or before 31 December Y,
--                               end on or after 1 January Y, or open and an admission by data end).
-- A belted person need not be admitted: in_numerator does NOT imply in_denominator here (measure kind
-- `ratio_of_counts`). Age on $age_ref_month/$age_ref_day of Y; residence = bef on 1 January Y.
with belted as (
    select distinct pnr, year(start_date)::integer as year
    from core.coercion
    where psychiatry and tvangstype = $belt_type and not voluntary
      and year(start_date) between $year_from and $year_to
),
admitted as (
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
units as (
    select
        coalesce(a.year, b.year) as year,
        coalesce(a.pnr, b.pnr) as pnr,
        a.pnr is not null as admitted,
        b.pnr is not null as belted
    from admitted a
    full outer join belted b on b.pnr = a.pnr and b.year = a.year
),
attrs as (
    select
        u.*,
        p.koen,
        completed_years(p.foed_dag, make_date(u.year, $age_ref_month, $age_ref_day)) as age,
        r.kom
    from units u
    left join core.persons p on p.pnr = u.pnr
    left join residence_asof(units) r on r.pnr = u.pnr and r.year = u.year
)
select
    a.year,
    a.pnr as unit_id,
    a.pnr,
    a.admitted as in_denominator,
    a.belted as in_numerator,
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
    null::varchar as flags,
    a.admitted,
    a.belted
from attrs a
left join ref.geography g on g.kom = a.kom
