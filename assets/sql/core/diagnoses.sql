-- core.diagnoses: the diagnoses of the contacts in core.contacts whose file year is in $years (NULL =
-- every year), both generations; source_year is the contact's. A contact's diagnosis rows are read
-- from the diagnosis files of every year, so a year's rows are exact even if a file held another
-- year's contact. LPR3 rows with senere_afkraeftet = 'Ja' are disregarded; every contact's action
-- diagnosis counts as type 'A' regardless. Codes are upper-cased SKS codes ('DX600'); duplicates
-- collapse.
--
-- Speed: contact ids are 'L2:' || recnum and 'L3:' || dw_ek_kontakt (contacts.sql), so the diagnosis
-- rows are joined on the bare recnum / dw_ek_kontakt (the contact's id without its prefix) and
-- collapsed per generation before the prefix is put back: short keys that DuckDB stores inline, no
-- key string built per diagnosis row, two smaller hash tables instead of one. The join keeps only the
-- rows of the contacts selected, so a refresh of one year builds a small hash table and the scan of
-- the diagnosis files only probes it.
with c as (
    select contact_id, action_diag, source_year
    from core.contacts
    where cast($years as integer[]) is null or list_contains(cast($years as integer[]), source_year)
),
c2 as (
    select substr(contact_id, 4) as id, action_diag, source_year from c where starts_with(contact_id, 'L2:')
),
c3 as (
    select substr(contact_id, 4) as id, action_diag, source_year from c where starts_with(contact_id, 'L3:')
),
lpr2 as (
    select distinct id, code, diag_type, source_year
    from (
        select c2.id, upper(trim(d.c_diag)) as code, nullif(upper(trim(d.c_diagtype)), '') as diag_type,
               c2.source_year
        from src_lpr_diag as d
        join c2 on c2.id = d.recnum
        union all
        select id, action_diag, 'A', source_year from c2
    ) as x
    where code is not null and code <> ''
),
lpr3 as (
    select distinct id, code, diag_type, source_year
    from (
        select c3.id, upper(trim(d.diagnosekode)) as code, nullif(upper(trim(d.diagnosetype)), '') as diag_type,
               c3.source_year
        from src_lpr_f_diagnoser as d
        join c3 on c3.id = d.dw_ek_kontakt
        where coalesce(lower(trim(d.senere_afkraeftet)), '') <> 'ja'
        union all
        select id, action_diag, 'A', source_year from c3
    ) as x
    where code is not null and code <> ''
)
select 'L2:' || id as contact_id, code, diag_type, source_year from lpr2
union all
select 'L3:' || id, code, diag_type, source_year from lpr3
