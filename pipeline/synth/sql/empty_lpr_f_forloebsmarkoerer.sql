create table lpr_f_forloebsmarkoerer (dw_ek_forloeb varchar, markoer varchar, dato_markoer date, tidspunkt_markoer time);
