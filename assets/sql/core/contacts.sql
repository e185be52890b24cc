-- core.contacts: LPR2 (lpr_adm) and LPR3 (lpr_f_kontakter) contacts in one shape, for the file years
-- in $years (NULL = every year; assets/core.py writes the rows of those years, see build_yearly).
-- Times are naive wall-clock timestamps: LPR2 date + hour (an empty hour with a date set = hour 0),
-- LPR3 date + time (an empty time = 00:00). An empty end date = open contact (end_ts NULL).
-- LPR3 rows reported through LPR2 (lprindberetningssystem = 'LPR2') duplicate LPR2 contacts: dropped.
-- Psychiatric, acute, planned and physical attendance come from the code lists in ref.codes.
-- contact_key: a BIGINT that names the contact by its place in the delivery, (file year, generation,
-- data row of the file): unique, and the same whichever years a run rebuilds (stay ids are built on it).
with lpr2 as (
    select
        'L2:' || recnum                                                  as contact_id,
        pnr,
        'LPR2'                                                           as generation,
        cast(null as varchar)                                            as course_id,
        coalesce(trim(c_spec) in (select code from ref.codes
                                  where list_name = 'psych_specialty_lpr2'), false) as psychiatric,
        true                                                             as physical,
        coalesce(trim(c_indm) in (select code from ref.codes
                                  where list_name = 'acute_priority'), false)   as acute,
        coalesce(trim(c_indm) in (select code from ref.codes
                                  where list_name = 'planned_priority'), false) as planned,
        d_inddto + make_time(coalesce(v_indtime, 0), 0, 0)               as start_ts,
        case when d_uddto is not null
             then d_uddto + make_time(coalesce(v_udtime, 0), 0, 0) end   as end_ts,
        d_hendto                                                         as referral_date,
        c_kom                                                            as kom,
        nullif(upper(trim(c_adiag)), '')                                 as action_diag,
        cast(null as integer)                                            as region_ans,
        _year                                                            as source_year,
        (coalesce(_year, 0) * 2 + 0) * 4294967296 + coalesce(_source_row, 0) as contact_key
    from src_lpr_adm
    where recnum is not null
      and (cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year))
),
lpr3 as (
    select
        'L3:' || dw_ek_kontakt                                           as contact_id,
        cpr                                                              as pnr,
        'LPR3'                                                           as generation,
        dw_ek_forloeb                                                    as course_id,
        coalesce(lower(trim(hovedspeciale_ans)) in (select lower(code) from ref.codes
                 where list_name = 'psych_specialty_lpr3'), false)       as psychiatric,
        coalesce(upper(trim(kontakttype)) in (select code from ref.codes
                 where list_name = 'physical_attendance'), false)        as physical,
        coalesce(upper(trim(prioritet)) in (select code from ref.codes
                 where list_name = 'acute_priority'), false)             as acute,
        coalesce(upper(trim(prioritet)) in (select code from ref.codes
                 where list_name = 'planned_priority'), false)           as planned,
        dato_start + coalesce(tidspunkt_start, time '00:00')             as start_ts,
        case when dato_slut is not null
             then dato_slut + coalesce(tidspunkt_slut, time '00:00') end as end_ts,
        dato_henvisning                                                  as referral_date,
        kom,
        nullif(upper(trim(aktionsdiagnose)), '')                         as action_diag,
        region_ans,
        _year                                                            as source_year,
        (coalesce(_year, 0) * 2 + 1) * 4294967296 + coalesce(_source_row, 0) as contact_key
    from src_lpr_f_kontakter
    where dw_ek_kontakt is not null
      and coalesce(upper(trim(lprindberetningssystem)), '') <> 'LPR2'
      and (cast($years as integer[]) is null or list_contains(cast($years as integer[]), _year))
)
select * from lpr2
union all
select * from lpr3
