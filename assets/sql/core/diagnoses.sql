-- core.diagnoses: the diagnoses of every contact in core.contacts, both generations.
-- LPR3 rows with senere_afkraeftet = 'Ja' are disregarded; every contact's action diagnosis counts
-- as type 'A' regardless. Codes are upper-cased SKS codes ('DX600'); duplicates collapse.
create or replace table core.diagnoses as
select distinct d.contact_id, d.code, d.diag_type
from (
    select 'L2:' || recnum as contact_id, upper(trim(c_diag)) as code,
           nullif(upper(trim(c_diagtype)), '') as diag_type
    from src_lpr_diag
    union all
    select 'L3:' || dw_ek_kontakt, upper(trim(diagnosekode)), nullif(upper(trim(diagnosetype)), '')
    from src_lpr_f_diagnoser
    where coalesce(lower(trim(senere_afkraeftet)), '') <> 'ja'
    union all
    select contact_id, action_diag, 'A' from core.contacts
) as d
where d.code is not null and d.code <> ''
  and d.contact_id in (select contact_id from core.contacts);
