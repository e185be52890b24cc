"""The figure for indicator assets (issue #6): each indicator materialisation carries its national
headline series as a PNG in markdown metadata, computed from aggregated national values only."""

import base64
import io
import re

import dagster as dg
import duckdb
import matplotlib.image
import polars as pl
import pytest
from test_indicators_support import d, insert, make_world, person, stay

from assets import indicators
from pipeline.aggregate import aggregate_indicator
from pipeline.catalogue import load_catalogue
from pipeline.indicator_figures import PNG_SIGNATURE, national_series, series_breaks
from pipeline.resources import WarehouseResource

# Person ids and birth dates that must never reach the metadata.
PERSONS = {"figsecret_anna": "1981-04-17", "figsecret_bo": "1979-08-23", "figsecret_carl": "2009-02-11"}


@pytest.fixture()
def warehouse(tmp_path):
    con = make_world(tmp_path)
    insert(con, "core.persons", [person(p, born) for p, born in PERSONS.items()])
    insert(con, "core.stays", [
        # 2018: anna readmitted 46 h after discharge; bo not
        stay(1, "figsecret_anna", "2018-03-01 08:00", "2018-03-10 10:00"),
        stay(2, "figsecret_anna", "2018-03-12 08:00", "2018-03-20 10:00"),
        stay(3, "figsecret_bo", "2018-05-01 08:00", "2018-05-10 10:00"),
        # 2019 (the LPR3 break year): carl readmitted, bo not
        stay(4, "figsecret_carl", "2019-03-01 08:00", "2019-03-10 10:00"),
        stay(5, "figsecret_carl", "2019-03-15 08:00", "2019-03-20 10:00"),
        stay(6, "figsecret_bo", "2019-06-01 08:00", "2019-06-10 10:00"),
        stay(7, "figsecret_anna", "2020-06-01 08:00", "2020-06-10 10:00"),
    ])
    insert(con, "core.data_end", [{"data_end": d("2020-12-31")}])
    con.close()
    return tmp_path / "warehouse.duckdb"


def _p4():
    return next(a for a in indicators.indicator_assets if a.key.to_user_string() == "p4_genindlaeggelse")


def _materialize(path, start: str, end: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [_p4()],
        resources={"duckdb": WarehouseResource(database=str(path))},
        tags={"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end},
    )


def _png(meta) -> bytes:
    text = meta["national_series_figure"].value
    m = re.fullmatch(r"!\[P4 national series\]\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text)
    assert m, text[:200]
    return base64.b64decode(m.group(1), validate=True)


def test_metadata_carries_a_png_of_the_national_series_and_no_person_level_value(warehouse):
    result = _materialize(warehouse, "2018", "2020")
    meta = result.asset_materializations_for_node("p4_genindlaeggelse")[0].metadata
    assert isinstance(meta["national_series_figure"], dg.MarkdownMetadataValue)
    png = _png(meta)
    assert png.startswith(PNG_SIGNATURE) and len(png) > 5_000
    pixels = matplotlib.image.imread(io.BytesIO(png), format="png")
    assert pixels.shape[0] > 200 and pixels.shape[1] > 400
    assert float(pixels[..., :3].std()) > 0.01  # something is drawn, not a blank canvas
    assert meta["national_series_years"].value == "2018, 2019, 2020"
    # no person id or birth date anywhere in the metadata (text, JSON or inside the PNG's chunks)
    text = " ".join(str(v.value) for v in meta.values())
    everything = text + png.decode("latin-1")
    for pnr, born in PERSONS.items():
        assert pnr not in everything and born not in everything
    assert "pnr" not in text and "unit_id" not in text


def test_series_is_the_aggregated_national_headline(warehouse):
    _materialize(warehouse, "2018", "2020")
    spec = load_catalogue()["p4_genindlaeggelse"]
    with duckdb.connect(str(warehouse)) as con:
        series = national_series(con, spec)
        full = aggregate_indicator(con, spec, [2018, 2019, 2020])
    # only aggregate columns, one row per year
    assert series.columns == ["year", "numerator", "denominator", "value", "ci_low", "ci_high", "flags"]
    expected = full.filter(
        (pl.col("measure") == "share") & (pl.col("breakdown_level") == "national")
        & (pl.col("sex") == "all") & (pl.col("age_group") == "all")
    ).select(series.columns).sort("year")  # fmt: skip
    assert series.equals(expected)
    # 2018: 1 of 3 readmitted (stays 1, 2, 3); 2019: 1 of 3 (4, 5, 6); 2020: stay 7, not readmitted
    assert series["numerator"].to_list() == [1.0, 1.0, 0.0]
    assert series["denominator"].to_list() == [3.0, 3.0, 1.0]
    assert series_breaks(series) == {2019: ["lpr3_break"]}


def test_series_breaks_mark_the_first_year_of_each_break():
    series = pl.DataFrame(
        {
            "year": [2020, 2021, 2022, 2023, 2024],
            "flags": [None, "small_denominator", "lup_digital_break", "lup_digital_break,small_denominator",
                      "incomplete_lookback,lup_digital_break,sei2_break"],
        }
    )  # fmt: skip
    assert series_breaks(series) == {2022: ["lup_digital_break"], 2024: ["sei2_break"]}


def test_figures_write_the_formats_asked_and_refuse_others(tmp_path):
    # the asset's figure is shown as PNG only, so no SVG is drawn for it; the report draws both
    from pipeline.figures import target_figure

    series = pl.DataFrame({"year": [2019, 2020], "value": [1.0, 2.0], "ci_low": [0.5, 1.5], "ci_high": [1.5, 2.5]})
    only_png = target_figure(series, {}, "t", "%", {}, tmp_path / "a", formats=("png",))
    assert only_png == [tmp_path / "a.png"] and sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]
    both = target_figure(series, {}, "t", "%", {}, tmp_path / "b")
    assert [p.name for p in both] == ["b.png", "b.svg"] and all(p.stat().st_size > 0 for p in both)
    with pytest.raises(ValueError, match="png and/or svg"):
        target_figure(series, {}, "t", "%", {}, tmp_path / "c", formats=("pdf",))
    assert not (tmp_path / "c.pdf").exists()
