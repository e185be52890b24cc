"""The disclosure cache (suppress_small_cells(cache_dir=...)): a hit is exactly a miss, a changed table
replaces only its own entry, and a damaged entry is recomputed."""

from __future__ import annotations

import random

import polars as pl
import pytest

from pipeline import disclosure
from pipeline.disclosure import suppress_small_cells

GEOGRAPHY = pl.DataFrame({"kom": ["101", "102", "201", "202"], "region_code": ["81", "81", "82", "82"]})


def values() -> pl.DataFrame:
    """Two indicators x two years; each a national total, two regions and four municipalities, by sex,
    with small counts here and there (so primary and secondary cells exist); 'b' has two linked measures."""
    rows = []
    for ind, measures in (("a", ("m",)), ("b", ("share", "count"))):
        for year in (2024, 2025):
            for measure in measures:
                for sex, k in (("all", 0), ("m", 1), ("f", 2)):
                    kom = {"101": 3 + k + year % 2, "102": 20 + 5 * k, "201": 40 - 3 * k, "202": 9 + year % 3}
                    if sex == "all":
                        kom = {key: 0 for key in kom}
                    for key, n in kom.items():
                        rows.append((ind, year, measure, "kom", key, sex, n))
            # the all-sex cells are the sum of the sexes
    df = pl.DataFrame(rows, schema={"indicator_id": pl.Utf8, "year": pl.Int64, "measure": pl.Utf8,
                                    "breakdown_level": pl.Utf8, "breakdown_key": pl.Utf8, "sex": pl.Utf8,
                                    "numerator": pl.Int64}, orient="row")
    by_sex = df.filter(pl.col("sex") != "all")
    alls = by_sex.group_by("indicator_id", "year", "measure", "breakdown_level", "breakdown_key").agg(
        pl.col("numerator").sum()).with_columns(pl.lit("all").alias("sex"))
    kom = pl.concat([by_sex, alls.select(df.columns)])
    region = kom.with_columns(pl.col("breakdown_key").replace({"101": "81", "102": "81", "201": "82", "202": "82"}),
                              pl.lit("region").alias("breakdown_level")).group_by(
        "indicator_id", "year", "measure", "breakdown_level", "breakdown_key", "sex").agg(pl.col("numerator").sum())
    national = region.with_columns(pl.lit("DK").alias("breakdown_key"), pl.lit("national").alias("breakdown_level")
                                   ).group_by("indicator_id", "year", "measure", "breakdown_level", "breakdown_key",
                                              "sex").agg(pl.col("numerator").sum())
    out = pl.concat([kom, region.select(df.columns), national.select(df.columns)])
    out = out.with_columns(pl.lit("all").alias("age_group"), pl.lit(None, dtype=pl.Int64).alias("denominator"),
                           pl.col("numerator").cast(pl.Float64).alias("value"), pl.lit("count").alias("unit"),
                           pl.lit(None, dtype=pl.Float64).alias("ci_low"), pl.lit(None, dtype=pl.Float64).alias("ci_high"),
                           pl.lit(None, dtype=pl.Float64).alias("std_value"))
    return out.sort("indicator_id", "year", "measure", "breakdown_level", "breakdown_key", "sex")


def entries(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.bin"))}


def counting(monkeypatch) -> list[int]:
    """Count the tables whose marks are computed (not read from the cache)."""
    calls: list[int] = []
    real = disclosure._table_marks

    def spy(table, *args, **kwargs):
        calls.append(table.height)
        return real(table, *args, **kwargs)

    monkeypatch.setattr(disclosure, "_table_marks", spy)
    return calls


def test_a_hit_is_exactly_a_miss_and_computes_nothing(tmp_path, monkeypatch):
    v = values()
    plain = suppress_small_cells(v, geography=GEOGRAPHY)
    assert plain.get_column("suppressed").is_in(["primary"]).any() and plain.get_column("suppressed").is_in(["secondary"]).any()
    cache = tmp_path / "cache"
    calls = counting(monkeypatch)
    cold = suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 4 and len(entries(cache)) == 4  # one entry per (indicator, year)
    warm = suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 4  # nothing recomputed
    assert cold.equals(plain) and warm.equals(plain)
    # rows in another order: the same marks, still from the cache
    shuffled = v.sample(fraction=1.0, shuffle=True, seed=7)
    again = suppress_small_cells(shuffled, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 4
    assert again.equals(suppress_small_cells(shuffled, geography=GEOGRAPHY))


def test_entries_hold_marks_only(tmp_path):
    v = values()
    cache = tmp_path / "cache"
    suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    heights = sorted(v.group_by("indicator_id", "year").len().get_column("len").to_list())
    head = len(disclosure.CACHE_MAGIC) + 32 + 8
    sizes = sorted(len(b) - head - 32 for b in entries(cache).values())
    assert sizes == heights  # header, one byte per row, checksum: no room for a value
    for data in entries(cache).values():
        assert set(data[head:-32]) <= {0, 1, 2}
    assert not list(cache.glob(".tmp-*"))  # written atomically, nothing left behind


def test_a_changed_row_replaces_only_its_tables_entry(tmp_path, monkeypatch):
    v = values()
    cache = tmp_path / "cache"
    suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    before = entries(cache)
    # one municipality of indicator a in 2025 gets a small count
    hit = ((pl.col("indicator_id") == "a") & (pl.col("year") == 2025) & (pl.col("breakdown_key") == "102")
           & (pl.col("sex") == "m"))
    changed = v.with_columns(pl.when(hit).then(2).otherwise(pl.col("numerator")).alias("numerator"),
                             pl.when(hit).then(2.0).otherwise(pl.col("value")).alias("value"))
    calls = counting(monkeypatch)
    out = suppress_small_cells(changed, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 1  # only that table recomputed
    after = entries(cache)
    assert after.keys() == before.keys()
    assert [n for n in after if after[n] != before[n]] == [disclosure._entry_name(
        changed.filter((pl.col("indicator_id") == "a") & (pl.col("year") == 2025)), disclosure.TABLE_KEYS)]
    assert out.equals(suppress_small_cells(changed, geography=GEOGRAPHY))
    assert out.filter(hit).get_column("suppressed").to_list() == ["primary"]


@pytest.mark.parametrize("damage", ["truncate", "flip_mark", "garbage", "empty", "other_table", "bad_code"])
def test_a_damaged_entry_is_recomputed(tmp_path, monkeypatch, damage):
    v = values()
    cache = tmp_path / "cache"
    plain = suppress_small_cells(v, geography=GEOGRAPHY)
    suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    good = entries(cache)
    names = sorted(good)
    victim = cache / names[0]
    data = bytearray(good[names[0]])
    head = len(disclosure.CACHE_MAGIC) + 32 + 8
    if damage == "truncate":
        victim.write_bytes(bytes(data[: len(data) // 2]))
    elif damage == "flip_mark":  # a plausible mark, but the checksum no longer matches
        data[head] = (data[head] + 1) % 3
        victim.write_bytes(bytes(data))
    elif damage == "garbage":
        victim.write_bytes(random.Random(1).randbytes(len(data)))
    elif damage == "empty":
        victim.write_bytes(b"")
    elif damage == "other_table":  # a valid entry of another table under this name
        victim.write_bytes(next(good[n] for n in names[1:] if len(good[n]) == len(data) and good[n] != good[names[0]]))
    elif damage == "bad_code":  # checksum recomputed, but a mark that does not exist
        data[head] = 7
        body = bytes(data[:-32])
        import hashlib
        victim.write_bytes(body + hashlib.sha256(body).digest())
    calls = counting(monkeypatch)
    out = suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 1
    assert out.equals(plain)
    assert entries(cache) == good  # rewritten as it was


def test_the_key_covers_threshold_and_rules(tmp_path, monkeypatch):
    v = values()
    want_t3 = suppress_small_cells(v, threshold=3, geography=GEOGRAPHY)
    want_flat = suppress_small_cells(v, threshold=3)
    rule = {"b": (("share", "count"),)}
    want_linked = suppress_small_cells(v, threshold=3, linked=rule)
    assert not want_t3.equals(suppress_small_cells(v, geography=GEOGRAPHY))
    cache = tmp_path / "cache"
    suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=cache)
    calls = counting(monkeypatch)
    t3 = suppress_small_cells(v, threshold=3, geography=GEOGRAPHY, cache_dir=cache)
    assert len(calls) == 4 and t3.equals(want_t3)
    flat = suppress_small_cells(v, threshold=3, cache_dir=cache)  # no geography: no nested totals
    assert len(calls) == 8 and flat.equals(want_flat)
    # a rule of indicator b: only b's tables are recomputed
    linked = suppress_small_cells(v, threshold=3, cache_dir=cache, linked=rule)
    assert len(calls) == 10 and linked.equals(want_linked)


def test_an_unwritable_cache_only_costs_time(tmp_path):
    v = values()
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    out = suppress_small_cells(v, geography=GEOGRAPHY, cache_dir=blocked / "cache")
    assert out.equals(suppress_small_cells(v, geography=GEOGRAPHY))
