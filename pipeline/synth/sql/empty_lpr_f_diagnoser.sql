create table lpr_f_diagnoser (dw_ek_kontakt varchar, diagnosekode varchar, diagnosetype varchar, senere_afkraeftet varchar);
