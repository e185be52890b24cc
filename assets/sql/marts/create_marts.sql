-- The mart tables (columns documented in docs/marts.md). Idempotent: run before every write.
create schema if not exists marts;

create table if not exists marts.indicator_values (
    indicator_id VARCHAR NOT NULL,
    indicator_version INTEGER NOT NULL,
    measure VARCHAR NOT NULL,
    year INTEGER NOT NULL,
    breakdown_level VARCHAR NOT NULL,
    breakdown_key VARCHAR NOT NULL,
    sex VARCHAR NOT NULL,
    age_group VARCHAR NOT NULL,
    numerator DOUBLE,
    denominator DOUBLE,
    value DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    std_value DOUBLE,
    unit VARCHAR NOT NULL,
    flags VARCHAR,
    run_id VARCHAR NOT NULL,
    catalogue_version VARCHAR NOT NULL,
    data_version VARCHAR
);

create table if not exists marts.target_progress (
    indicator_id VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    measure VARCHAR NOT NULL,
    age_group VARCHAR NOT NULL,
    baseline_year INTEGER,
    baseline_published DOUBLE,
    baseline_computed DOUBLE,
    latest_year INTEGER,
    latest_value DOUBLE,
    target_value DOUBLE,
    target_year INTEGER,
    target_rule VARCHAR,
    direction VARCHAR NOT NULL,
    needed_change DOUBLE,
    status VARCHAR NOT NULL,
    projection_value DOUBLE,
    projection_slope DOUBLE,
    projection_years INTEGER NOT NULL,
    run_id VARCHAR NOT NULL,
    catalogue_version VARCHAR NOT NULL
);

create table if not exists marts.data_quality (
    kind VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    year INTEGER,
    file VARCHAR,
    metric VARCHAR NOT NULL,
    value BIGINT NOT NULL,
    status VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL,
    catalogue_version VARCHAR NOT NULL
);
