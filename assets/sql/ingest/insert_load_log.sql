insert into meta.load_log (
    register, year, file, rows_read, rows_staged, rows_quarantined, rule_counts, status, loaded_at,
    file_hash, run_id, message, file_format, column_types, max_rows, max_share
) values (
    $register, $year, $file, $rows_read, $rows_staged, $rows_quarantined, $rule_counts, $status, $loaded_at,
    $file_hash, $run_id, $message, $file_format, $column_types, $max_rows, $max_share
);
