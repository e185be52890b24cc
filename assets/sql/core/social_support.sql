-- core.social_support: support under the Social Services Act (sociale_indsatser); paragraf as the
-- bare section number ('§ 85' -> '85'), target group lower-cased.
create or replace table core.social_support as
select pnr,
       regexp_replace(trim(paragraf), '^§\s*', '') as paragraf,
       lower(trim(maalgruppe)) as maalgruppe,
       start_dato,
       slut_dato
from src_sociale_indsatser;
