"""Export assets: the disclosure-controlled status report per year (`status_report`).

What belongs here: the Dagster wiring only. The report itself (reading the marts, disclosure
control, workbook, CSV, figures, HTML) is `pipeline.report` (`load_report_inputs` reads the marts
once, `render_status_reports` does the rest without the warehouse), also behind `pipeline report --year YYYY`.
The asset keeps the disclosure cache in `.cache/disclosure/` beside the warehouse (a refresh recomputes only the
tables whose rows changed) and draws the figures in one worker process while it writes the tables.
"""

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipeline.partitions import SINGLE_RUN, YEARS, partition_years
from pipeline.report import FIGURE_WORKERS, disclosure_cache_dir, load_report_inputs, render_status_reports
from pipeline.resources import SettingsResource


@dg.asset(
    group_name="exports",
    partitions_def=YEARS,
    backfill_policy=SINGLE_RUN,
    deps=["indicator_values", "target_progress"],
    # only reads the warehouse, but the resource opens it for writing: share the writers' pool so it
    # never collides with another process holding the file. The connection is held only while the
    # inputs are read (a second or so); suppression and rendering run after it is closed.
    pool="warehouse",
    description="Status report per year: suppressed XLSX/CSV tables, figures and an HTML page under <exports>/<year>/",
)
def status_report(context: dg.AssetExecutionContext, duckdb: DuckDBResource, settings: SettingsResource) -> None:
    written: dict[str, int] = {}
    hidden = 0
    synthetic = False
    years = partition_years(context)
    with duckdb.get_connection() as con:
        inputs = load_report_inputs(con, years, settings.marts_path)
    results = render_status_reports(inputs, years, settings.exports_path, settings.raw_path,
                                    cache_dir=disclosure_cache_dir(Path(settings.warehouse)), workers=FIGURE_WORKERS)
    for year, result in zip(years, results, strict=True):
        written[str(year)] = len(result.figure_files)
        hidden += result.hidden_cells
        synthetic = synthetic or result.synthetic
        context.log.info(f"status report {year}: {result.rows} rows, {result.hidden_cells} hidden, "
                         f"{len(result.figure_files)} figure files")
    context.add_output_metadata({
        "years": len(written),
        "value_rows": inputs.values.height,  # indicator value rows read (every year up to the last report's)
        "table_rows": sum(r.table_rows for r in results),
        "figure_files": sum(written.values()),
        "hidden_rows": hidden,
        "synthetic": synthetic,
        "folder": str(settings.exports_path),
    })
