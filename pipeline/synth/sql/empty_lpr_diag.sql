create table lpr_diag (recnum varchar, c_diag varchar, c_diagtype varchar);
