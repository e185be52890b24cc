-- Shared helpers for the aggregator's cell SQL (temporary macros on the run's connection).

-- The key of a unit in one breakdown level: 'DK' nationally, else its code at that level ('unknown'
-- where the unit has none). Levels the query does not have are passed as null.
create or replace temp macro breakdown_key(level, k_region, k_region2027, k_sundhedsraad, k_kom, k_reporting_region) as
    case level
        when 'national' then 'DK'
        when 'region' then k_region
        when 'region2027' then k_region2027
        when 'sundhedsraad' then k_sundhedsraad
        when 'kom' then k_kom
        when 'reporting_region' then k_reporting_region
    end;
