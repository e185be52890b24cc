-- core.diagnoses: the diagnoses of the contacts in core.contacts whose file year is in $years (NULL =
-- every year), both generations; source_year is the contact's. A contact's diagnosis rows are read
-- from the diagnosis files of every year, so a year's rows are exact even if a file held another
-- year's contact. LPR3 rows with senere_afkraeftet = 'Ja' are disregarded; every contact's action
-- diagnosis counts as type 'A' regardless. Codes are upper-cased SKS codes ('DX600'); duplicates
-- collapse.
with c as (
    select contact_id, action_diag, source_year
    from core.contacts
    where cast($years as integer[]) is null or list_contains(cast($years as integer[]), source_year)
),
d as (
    select 'L2:' || recnum as contact_id, upper(trim(c_diag)) as code,
           nullif(upper(trim(c_diagtype)), '') as diag_type
    from src_lpr_diag
    union all
    select 'L3:' || dw_ek_kontakt, upper(trim(diagnosekode)), nullif(upper(trim(diagnosetype)), '')
    from src_lpr_f_diagnoser
    where coalesce(lower(trim(senere_afkraeftet)), '') <> 'ja'
)
select distinct contact_id, code, diag_type, source_year
from (
    select c.contact_id, d.code, d.diag_type, c.source_year
    from d join c on c.contact_id = d.contact_id
    union all
    select contact_id, action_diag, 'A', source_year from c
) as x
where code is not null and code <> ''
