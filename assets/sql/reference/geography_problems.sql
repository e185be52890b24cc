-- Sanity rules for ref.geography; one row per broken rule with the number of offending rows.
select 'kom_not_unique' as rule, count(*) as n
from (select kom from ref.geography group by kom having count(*) > 1)
union all
select 'kom_count_not_98', abs(count(distinct kom) - 98) from ref.geography
union all
select 'council_in_several_2027_regions', count(*)
from (select sundhedsraad_code from ref.geography group by sundhedsraad_code
      having count(distinct region2027_code) > 1)
union all
select 'missing_value', count(*) from ref.geography
where kom is null or region_code is null or region2027_code is null or sundhedsraad_code is null;
