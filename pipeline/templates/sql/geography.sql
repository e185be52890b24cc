-- Municipalities with their regions, 2027 regions and health councils (names for the tables and
-- the nesting that the disclosure control's totals follow).
select kom, kom_navn, region_code, region_name, region2027_code, region2027_name,
       sundhedsraad_code, sundhedsraad_name
from ref.geography
order by kom
