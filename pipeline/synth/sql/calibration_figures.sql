-- One row per (figure, year) measured from a synthetic world; needs calibration_base.sql first.
with idx as (  -- psychiatric index admissions (P4), with the first acute readmission within 720 hours
    select a.pnr, a.stay_no, a.end_ts, year(a.end_ts) as year,
           min(b.start_ts) filter (where b.acute and b.start_ts > a.end_ts
                                   and b.start_ts <= a.end_ts + interval 720 hour) as readm_ts
    from cal_admissions a
    left join cal_admissions b on b.pnr = a.pnr and b.psych and b.start_ts > a.end_ts
    where a.psych and a.end_ts is not null
    group by all
), idx_kept as (
    select i.* from idx i cross join cal_data_end d left join cal_deaths x on x.pnr = i.pnr
    where i.end_ts::date <= d.data_end - 30
      and not coalesce(x.doddato <= i.end_ts::date, false)
      and not coalesce(x.doddato <= i.end_ts::date + 30 and (i.readm_ts is null or i.readm_ts::date > x.doddato), false)
), coercion as (
    select t.pnr, year(t.start_dato) as year, t.start_dato, t.skema, t.tvangstype,
           date_diff('year', p.foed_dag, t.start_dato)
             - case when strftime(t.start_dato, '%m%d') < strftime(p.foed_dag, '%m%d') then 1 else 0 end as age
    from tvang t left join cal_persons p using (pnr)
    where t.behandlingsomraade = 'psykiatri'
      and not (t.tvangstype = 'baelte' and coalesce(t.begrundelse, '') = 'frivillig')
), coerced_persons as (
    select pnr, year, arg_min(age, start_dato) as age from coercion where skema in (1, 2, 3) group by all
), ready_markers as (
    select c.pnr, c.stay_no, m.d_markoer as marker_date
    from lpr_markoer m join cal_chain c on c.cid = 'L2:' || m.recnum
    where m.markoer = 'MFB01' and c.psych
    union all
    select c.pnr, c.stay_no, m.dato_markoer
    from lpr_f_forloebsmarkoerer m join cal_chain c on c.course = m.dw_ek_forloeb
    where m.markoer = 'MFB01' and c.psych
), ready as (
    select a.pnr, a.stay_no, year(a.end_ts) as year, a.end_ts::date - min(r.marker_date) as days
    from cal_admissions a join ready_markers r on r.pnr = a.pnr and r.stay_no = a.stay_no
    where a.psych and a.end_ts is not null
      and r.marker_date between a.start_ts::date and a.end_ts::date
    group by a.pnr, a.stay_no, a.end_ts
), survey as (
    select _year as year, alder, mcs, vaegt from sundhedsprofil where mcs is not null and alder >= 16
), dream_long as (
    unpivot dream on columns(* exclude (pnr, _year)) into name wk value code
), dream_cols as (
    select column_name as wk from information_schema.columns
    where table_name = 'dream' and column_name like 'y\_%' escape '\'
), p5_index as (
    select a.pnr, year(a.end_ts) as year, a.start_ts, a.end_ts,
           'y_' || lpad((isoyear(a.start_ts::date - 28) % 100)::varchar, 2, '0')
                || lpad(week(a.start_ts::date - 28)::varchar, 2, '0') as wk_before,
           'y_' || lpad((isoyear(a.end_ts::date + 182) % 100)::varchar, 2, '0')
                || lpad(week(a.end_ts::date + 182)::varchar, 2, '0') as wk_after
    from cal_admissions a join cal_persons p using (pnr)
    where a.psych and a.end_ts is not null
      and date_diff('year', p.foed_dag, a.start_ts::date) between 19 and 64
    qualify row_number() over (partition by a.pnr, year(a.end_ts) order by a.end_ts) = 1
), p5 as (
    select i.year,
           not exists (select 1 from dream_long d where d.pnr = i.pnr and d.wk = i.wk_before) as employed_before,
           not exists (select 1 from dream_long d where d.pnr = i.pnr and d.wk = i.wk_after) as employed_after
    from p5_index i left join cal_deaths x using (pnr)
    where i.wk_before in (select wk from dream_cols) and i.wk_after in (select wk from dream_cols)
      and not coalesce(x.doddato <= i.end_ts::date + 182, false)
)
select 'population' as figure, _year as year, count(*)::double as value from bef group by 2
union all
select 'psych_admissions', year(end_ts), count(*) from cal_admissions where psych and end_ts is not null group by 2
union all
select 'persons_psych_stay', year(start_ts), count(distinct pnr) from cal_contacts where psych and physical group by 2
union all
select 'readmission_share', year, avg((readm_ts is not null)::int) from idx_kept group by 2
union all
select 'coerced_adults', year, count(*) from coerced_persons where age >= 18 group by 2
union all
select 'coerced_children', year, count(*) from coerced_persons where age < 18 group by 2
union all
select 'form1_measures', year, count(*) from coercion where skema = 1 group by 2
union all
select 'belted_persons', year, count(distinct pnr) from coercion where tvangstype = 'baelte' group by 2
union all
select 'ready_days', year, sum(days) from ready group by 2
union all
select 'poor_mh_16_24', year, sum(vaegt * (mcs < 35.76)::int) / sum(vaegt) from survey where alder <= 24 group by 2
union all
select 'poor_mh_16_plus', year, sum(vaegt * (mcs < 35.76)::int) / sum(vaegt) from survey group by 2
union all
select 'employment_retention', year, avg(employed_after::int) from p5 where employed_before group by 2
union all
select 'suicides', year(doddato), count(*) from dod where substr(c_dodsaarsag, 1, 4) between 'DX60' and 'DX84' group by 2
