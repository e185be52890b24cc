-- ref.codes: every shipped code list (pipeline/reference/codes/*.csv, one file per list) in one
-- long table. Codes stay text ('50' is not 50). Replaces the whole table; $paths is the file list.
create schema if not exists ref;
create or replace table ref.codes as
select list_name, code, meaning, valid_from, valid_to, source
from read_csv($paths, header = true, delim = ',', quote = '"', encoding = 'utf-8',
              columns = {'list_name': 'VARCHAR', 'code': 'VARCHAR', 'meaning': 'VARCHAR',
                         'valid_from': 'DATE', 'valid_to': 'DATE', 'source': 'VARCHAR'})
order by list_name, code;
