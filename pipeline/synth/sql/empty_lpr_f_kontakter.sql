-- An empty LPR3 contact table for a world without LPR3 years.
create table lpr_f_kontakter (dw_ek_kontakt varchar, dw_ek_forloeb varchar, cpr varchar, dato_start date,
    tidspunkt_start time, dato_slut date, tidspunkt_slut time, dato_henvisning date, kontakttype varchar,
    prioritet varchar, hovedspeciale_ans varchar, region_ans integer, aktionsdiagnose varchar,
    lprindberetningssystem varchar, kom integer);
