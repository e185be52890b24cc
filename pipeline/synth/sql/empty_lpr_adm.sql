-- An empty LPR2 contact table for a world without LPR2 years.
create table lpr_adm (recnum varchar, pnr varchar, c_spec varchar, c_indm varchar, d_hendto date, d_inddto date,
    v_indtime integer, d_uddto date, v_udtime integer, c_adiag varchar, c_kom integer);
