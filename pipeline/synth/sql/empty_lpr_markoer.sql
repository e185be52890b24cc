create table lpr_markoer (recnum varchar, markoer varchar, d_markoer date);
