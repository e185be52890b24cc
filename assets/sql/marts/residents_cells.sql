-- Residents on 1 January per year and breakdown cell (for per_1000_residents measures), from
-- core.residence, core.persons and ref.geography. Age is completed years on 1 January; the age
-- groups come from the catalogue's bounds ($ag_labels, $ag_lo, $ag_hi; hi NULL = open).
-- The residence rows (every person and year) are read once and counted per (year, municipality, sex,
-- age); the age groups, the geography and the roll-up per level and grouping set then work on those
-- few hundred thousand counts, not on the persons.
with bounds as (
    select unnest($ag_labels) as label, unnest($ag_lo) as lo, unnest($ag_hi) as hi
),
r as (
    -- integer keys only on the ~person x year rows; labels and ages come after the grouping
    select
        r.year,
        r.kom,
        p.koen,
        year(p.foed_dag) as birth_year,
        month(p.foed_dag) = 1 and day(p.foed_dag) = 1 as born_1_january,
        count(*) as n
    from core.residence as r
    left join core.persons as p on p.pnr = r.pnr
    where r.year in (select unnest($years))
    group by all
),
aged as (
    select
        year,
        kom,
        case koen when 1 then 'male' when 2 then 'female' else 'unknown' end as sex,
        -- completed years on 1 January: one less than the year difference unless born on 1 January
        year - birth_year - 1 + case when born_1_january then 1 else 0 end as age,
        n
    from r
),
u as (
    select
        r.year,
        r.sex,
        coalesce(b.label, 'unknown') as age_group,
        coalesce(cast(g.region_code as varchar), 'unknown') as k_region,
        coalesce(cast(g.region2027_code as varchar), 'unknown') as k_region2027,
        coalesce(cast(g.sundhedsraad_code as varchar), 'unknown') as k_sundhedsraad,
        coalesce(cast(r.kom as varchar), 'unknown') as k_kom,
        r.n
    from aged as r
    left join ref.geography as g on g.kom = r.kom
    left join bounds as b on r.age >= b.lo and (b.hi is null or r.age <= b.hi)
),
long as (
    select
        u.*,
        l.breakdown_level,
        breakdown_key(l.breakdown_level, k_region, k_region2027, k_sundhedsraad, k_kom, null) as breakdown_key
    from u
    cross join (select unnest($levels) as breakdown_level) as l
)
select
    year,
    breakdown_level,
    breakdown_key,
    case when grouping(sex) = 1 then 'all' else sex end as sex,
    case when grouping(age_group) = 1 then 'all' else age_group end as age_group,
    cast(sum(n) as bigint) as residents
from long
group by year, breakdown_level, breakdown_key, grouping sets ((), (sex), (age_group), (sex, age_group))
