-- ref.geography: the 98 municipalities with region (to 2026), 2027 region and health council.
-- Replaces the whole table from the shipped file pipeline/reference/geography.csv ($path).
create schema if not exists ref;
create or replace table ref.geography as
select kom, kom_navn, region_code, region_name, region2027_code, region2027_name,
       sundhedsraad_code, sundhedsraad_name, source
from read_csv($path, header = true, delim = ',', quote = '"', encoding = 'utf-8',
              columns = {'kom': 'INTEGER', 'kom_navn': 'VARCHAR', 'region_code': 'INTEGER',
                         'region_name': 'VARCHAR', 'region2027_code': 'INTEGER',
                         'region2027_name': 'VARCHAR', 'sundhedsraad_code': 'INTEGER',
                         'sundhedsraad_name': 'VARCHAR', 'source': 'VARCHAR'})
order by kom;
