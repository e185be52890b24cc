-- dream: week cells whose code ref.codes does not know (counts only). Week columns match y_YYWW.
select count(*) as cells_unknown, count(distinct code) as codes_unknown
from (unpivot staging.dream on columns('^y_[0-9]{4}$') into name week value code)
where code not in (select code from ref.codes where list_name = $list_name);
