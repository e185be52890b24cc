-- P3 suicide and suicide attempts among people with mental illness: one unit per person and year.
-- Population in Y: persons with a psychiatric contact (any contact type) starting in Y-1 or Y.
-- Numerator: died in Y with an underlying cause in the self-harm range ($self_harm_from..$self_harm_to
-- as 4-character code prefixes, DX60-DX84), or a hospital contact (any domain, any type) starting in Y
-- with an action or secondary diagnosis in that range (core.diagnoses: refuted rows already dropped).
-- Age on $age_ref_month/$age_ref_day of Y; residence = bef on 1 January Y (else the latest earlier).
-- Flag `incomplete_lookback` when Y-1 lies before the first LPR year in the data.
-- Diagnosis codes are upper-case in core (diagnoses.sql). For a bound of at most 4 characters,
-- `code >= from` is `substr(code, 1, 4) >= from`; the plain comparison first keeps the 44 M national
-- diagnoses cheap to filter.
with first_lpr as (
    select min(source_year) as first_year from core.contacts
),
pop as (
    -- a psychiatric contact starting in year S puts the person in the populations of S and S + 1
    -- (unnest instead of a range join: linear in the contacts)
    select distinct pnr, year
    from (
        select c.pnr, unnest([year(c.start_ts), year(c.start_ts) + 1])::integer as year
        from core.contacts c
        where c.psychiatric and year(c.start_ts) between $year_from - 1 and $year_to
    )
    where year between $year_from and $year_to
),
suicide as (
    select pnr, year(doddato)::integer as year
    from core.deaths
    where upper(substr(c_dodsaarsag, 1, 4)) between $self_harm_from and $self_harm_to
),
attempt as (
    select distinct c.pnr, year(c.start_ts)::integer as year
    from core.contacts c
    join core.diagnoses d on d.contact_id = c.contact_id
    where d.code >= $self_harm_from and substr(d.code, 1, 4) <= $self_harm_to
      and year(c.start_ts) between $year_from and $year_to
),
units as (
    select
        pop.year,
        pop.pnr,
        s.pnr is not null as suicide,
        a.pnr is not null as attempt,
        pop.year - 1 < (select first_year from first_lpr) as incomplete_lookback
    from pop
    left join suicide s on s.pnr = pop.pnr and s.year = pop.year
    left join attempt a on a.pnr = pop.pnr and a.year = pop.year
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
    true as in_denominator,
    a.suicide or a.attempt as in_numerator,
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
    case when a.incomplete_lookback then 'incomplete_lookback' end as flags,
    a.suicide,
    a.attempt
from attrs a
left join ref.geography g on g.kom = a.kom
