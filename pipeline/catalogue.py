"""The indicator catalogue: load and validate `pipeline/catalogue/<indicator_id>.yaml`.

What belongs here: the catalogue's shape (`IndicatorSpec`, `MeasureSpec`, `BaselineSpec`, `TargetSpec`,
`FlagSpec`), the validation of every entry with errors naming the file and the key, the order of the
indicators (P1..P6, N1..N8, I1, I2) and `CATALOGUE_VERSION`, a hash of the catalogue files' contents.
What does not: computing anything from the entries (that is `pipeline.aggregate` and the assets).

The format is documented in docs/architecture.md ("Catalogue entry"). Optional keys beyond it:
- `years_defined`: the years an indicator exists in: null (every year), a list of years, or a
  spec string such as `"2010-2025"` or `"2010,2013,2017,2021,2025"`.
- `age_groups`: a list of labels, or a mapping label -> [lowest age, highest age or null] (the
  bounds are needed only by `per_1000_residents` measures split by age group).
- `flags`: each item either a known flag name (years from `KNOWN_FLAGS`) or a mapping
  `{name: ..., years: [...]}` / `{name: ..., from_year: 2022}`.
- `parameters.min_denominator` (default `DEFAULT_MIN_DENOMINATOR`): below it a value gets the flag
  `small_denominator`; a measure may override it with its own `min_denominator`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pipeline.config import parse_years

CATALOGUE_DIR = Path(__file__).resolve().parent / "catalogue"

CODE_ORDER: tuple[str, ...] = (
    *(f"P{i}" for i in range(1, 7)),
    *(f"N{i}" for i in range(1, 9)),
    "I1",
    "I2",
)
GROUPS = frozenset({"target", "nationale_maal", "integration"})
DIRECTIONS = frozenset({"up", "down"})
MEASURE_KINDS = frozenset(
    {
        "share",
        "weighted_share",
        "count",
        "distinct_persons",
        "sum",
        "mean",
        "median",
        "rate_per_1000",
        "per_1000_residents",
        "smr",
        "std_share",
        "ratio_of_counts",  # N2, N1: numerator rows (in_numerator and filter) / in_denominator rows
    }
)
MEASURE_UNITS = frozenset({"percent", "count", "persons", "days", "per_1000", "ratio"})
# Breakdown level -> the unit-table column holding its key (national has none).
BREAKDOWN_COLUMNS: dict[str, str | None] = {
    "national": None,
    "region": "region_code",
    "region2027": "region2027_code",
    "sundhedsraad": "sundhedsraad_code",
    "kom": "kom",
    "reporting_region": "reporting_region",
}
SPLITS = ("sex", "age_group")
TARGET_RULES = frozenset({"half_of_baseline", "direction_only"})
# Flags whose years are fixed by INDICATORS.md; (years, from_year).
KNOWN_FLAGS: dict[str, tuple[tuple[int, ...], int | None]] = {
    "lpr3_break": ((2019,), None),
    "sei2_break": ((2019,), None),
    "lup_digital_break": ((), 2022),
    "udredningsret_suspended": ((2020,), None),
    "lpr3_first_half_missing": ((2019,), None),
}
DEFAULT_MIN_DENOMINATOR = 20

REQUIRED_KEYS = (
    "id",
    "version",
    "code",
    "group",
    "name_da",
    "name_en",
    "source_registers",
    "definition",
    "parameters",
    "unit_table",
    "breakdowns",
    "splits",
    "age_groups",
    "measures",
    "direction",
    "baseline",
    "target",
    "flags",
)
OPTIONAL_KEYS = ("years_defined",)
MEASURE_REQUIRED = ("id", "kind", "unit")
MEASURE_OPTIONAL = ("filter", "strata", "standard_year", "min_denominator", "description", "label")
_IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class CatalogueError(ValueError):
    """A catalogue entry breaks the format; the message names the file and the key."""


@dataclass(frozen=True)
class MeasureSpec:
    id: str
    kind: str
    unit: str
    filter: str | None = None
    strata: tuple[str, ...] = ()
    standard_year: int | None = None
    min_denominator: int | None = None  # None: the indicator's parameter / the global default
    description: str | None = None


@dataclass(frozen=True)
class FlagSpec:
    name: str
    years: tuple[int, ...] = ()
    from_year: int | None = None

    def applies(self, year: int) -> bool:
        return year in self.years or (self.from_year is not None and year >= self.from_year)


@dataclass(frozen=True)
class BaselineSpec:
    year: int | None  # the baseline year (the last of `years` when a mean over years)
    years: tuple[int, ...]  # the years whose mean is the baseline (one year usually)
    published: float | dict[str, float] | None  # a number, or one per age group
    source: str | None


@dataclass(frozen=True)
class TargetSpec:
    year: int | None
    value: float | dict[str, float] | None  # a number, or one per age group
    rule: str | None  # half_of_baseline | direction_only (when there is no number)


@dataclass(frozen=True)
class IndicatorSpec:
    id: str
    version: int
    code: str
    group: str
    name_da: str
    name_en: str
    source_registers: tuple[str, ...]
    definition: str
    parameters: dict[str, Any]
    unit_table: str
    breakdowns: tuple[str, ...]
    splits: tuple[str, ...]
    age_groups: tuple[str, ...]
    measures: tuple[MeasureSpec, ...]
    direction: str
    baseline: BaselineSpec | None
    target: TargetSpec | None
    flags: tuple[FlagSpec, ...]
    years_defined: tuple[int, ...] | None = None  # None: every year
    age_bounds: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    source_file: str = ""

    @property
    def headline(self) -> MeasureSpec:
        return self.measures[0]

    @property
    def unit_table_name(self) -> str:
        """The table name without the `units.` schema."""
        return self.unit_table.split(".", 1)[1]

    def defined_in(self, year: int) -> bool:
        return self.years_defined is None or year in self.years_defined

    def years_in(self, years: list[int] | tuple[int, ...]) -> list[int]:
        return [y for y in sorted(years) if self.defined_in(y)]

    def flags_for(self, year: int) -> list[str]:
        return [f.name for f in self.flags if f.applies(year)]

    def min_denominator(self, measure: MeasureSpec | None = None) -> int:
        if measure is not None and measure.min_denominator is not None:
            return measure.min_denominator
        return int(self.parameters.get("min_denominator", DEFAULT_MIN_DENOMINATOR))

    def measure(self, measure_id: str) -> MeasureSpec:
        for m in self.measures:
            if m.id == measure_id:
                return m
        raise KeyError(f"{self.id}: no measure {measure_id!r}")


# --- validation helpers -----------------------------------------------------------------------------


def _fail(path: Path, key: str, msg: str) -> CatalogueError:
    return CatalogueError(f"{path.name}: key '{key}': {msg}")


def _str(path: Path, key: str, value: Any, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise _fail(path, key, f"must be a non-empty string, got {value!r}")
    return value


def _int(path: Path, key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(path, key, f"must be an integer, got {value!r}")
    return value


def _str_list(path: Path, key: str, value: Any, allowed: Any = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, key, f"must be a list of strings, got {value!r}")
    if allowed is not None:
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise _fail(path, key, f"unknown value(s) {unknown}; known: {sorted(allowed)}")
    if len(set(value)) != len(value):
        raise _fail(path, key, f"duplicate values in {value}")
    return tuple(value)


def _number_or_groups(path: Path, key: str, value: Any) -> float | dict[str, float] | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, Mapping) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value.values()
    ):
        return {str(k): float(v) for k, v in value.items()}
    raise _fail(path, key, f"must be a number or a mapping age group -> number, got {value!r}")


def _years(path: Path, key: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return tuple(parse_years(value))
        except ValueError as exc:
            raise _fail(path, key, str(exc)) from exc
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return tuple(sorted(set(value)))
    raise _fail(path, key, f"must be null, a list of years or a spec like '2010-2025', got {value!r}")


def _measure(path: Path, i: int, raw: Any) -> MeasureSpec:
    key = f"measures[{i}]"
    if not isinstance(raw, Mapping):
        raise _fail(path, key, "must be a mapping")
    for k in MEASURE_REQUIRED:
        if k not in raw:
            raise _fail(path, f"{key}.{k}", "required key missing")
    unknown = set(raw) - set(MEASURE_REQUIRED) - set(MEASURE_OPTIONAL)
    if unknown:
        raise _fail(path, key, f"unknown key(s) {sorted(unknown)}")
    mid = _str(path, f"{key}.id", raw["id"])
    if not _IDENT.match(mid):
        raise _fail(path, f"{key}.id", f"{mid!r} must be lower-case letters, digits and _")
    kind = _str(path, f"{key}.kind", raw["kind"])
    if kind not in MEASURE_KINDS:
        raise _fail(path, f"{key}.kind", f"unknown measure kind {kind!r}; known: {sorted(MEASURE_KINDS)}")
    unit = _str(path, f"{key}.unit", raw["unit"])
    if unit not in MEASURE_UNITS:
        raise _fail(path, f"{key}.unit", f"unknown unit {unit!r}; known: {sorted(MEASURE_UNITS)}")
    flt = raw.get("filter")
    if flt is not None:
        flt = _str(path, f"{key}.filter", flt)
        if ";" in flt:
            raise _fail(path, f"{key}.filter", "a filter is one SQL predicate (no ';')")
    strata = _str_list(path, f"{key}.strata", raw.get("strata") or [])
    for s in strata:
        if not _IDENT.match(s):
            raise _fail(path, f"{key}.strata", f"{s!r} is not a column name")
    std_year = raw.get("standard_year")
    if std_year is not None:
        std_year = _int(path, f"{key}.standard_year", std_year)
    if kind == "std_share" and (not strata or std_year is None):
        raise _fail(path, key, "kind std_share needs 'strata' and 'standard_year'")
    min_den = raw.get("min_denominator")
    if min_den is not None:
        min_den = _int(path, f"{key}.min_denominator", min_den)
    desc = raw.get("description", raw.get("label"))
    return MeasureSpec(
        id=mid,
        kind=kind,
        unit=unit,
        filter=flt,
        strata=strata,
        standard_year=std_year,
        min_denominator=min_den,
        description=str(desc) if desc is not None else None,
    )


def _flags(path: Path, value: Any) -> tuple[FlagSpec, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fail(path, "flags", "must be a list")
    out = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            if item not in KNOWN_FLAGS:
                raise _fail(
                    path, f"flags[{i}]", f"unknown flag {item!r} (give years: {{name, years}}); known: {sorted(KNOWN_FLAGS)}"
                )
            years, from_year = KNOWN_FLAGS[item]
            out.append(FlagSpec(item, years, from_year))
        elif isinstance(item, Mapping) and "name" in item:
            name = _str(path, f"flags[{i}].name", item["name"])
            years = _years(path, f"flags[{i}].years", item.get("years")) or ()
            from_year = item.get("from_year")
            if from_year is not None:
                from_year = _int(path, f"flags[{i}].from_year", from_year)
            if not years and from_year is None:
                if name not in KNOWN_FLAGS:
                    raise _fail(path, f"flags[{i}]", "needs 'years' or 'from_year'")
                years, from_year = KNOWN_FLAGS[name]
            out.append(FlagSpec(name, tuple(years), from_year))
        else:
            raise _fail(path, f"flags[{i}]", f"must be a flag name or {{name, years|from_year}}, got {item!r}")
    return tuple(out)


def _age_groups(path: Path, value: Any) -> tuple[tuple[str, ...], dict[str, tuple[int | None, int | None]]]:
    if value is None:
        return (), {}
    if isinstance(value, list):
        return _str_list(path, "age_groups", value), {}
    if isinstance(value, Mapping):
        bounds: dict[str, tuple[int | None, int | None]] = {}
        for label, b in value.items():
            ok = isinstance(b, list) and len(b) == 2 and all(x is None or isinstance(x, int) for x in b)
            if not ok:
                raise _fail(path, f"age_groups.{label}", f"must be [lowest, highest or null], got {b!r}")
            bounds[str(label)] = (b[0], b[1])
        return tuple(bounds), bounds
    raise _fail(path, "age_groups", "must be a list of labels or a mapping label -> [lo, hi]")


def _baseline(path: Path, value: Any) -> BaselineSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(path, "baseline", "must be a mapping or null")
    years = _years(path, "baseline.years", value.get("years")) or ()
    year = value.get("year")
    if year is not None:
        year = _int(path, "baseline.year", year)
    if year is None and not years:
        raise _fail(path, "baseline", "needs 'year' or 'years'")
    if not years:
        years = (year,)
    if year is None:
        year = max(years)
    published = _number_or_groups(path, "baseline.published", value.get("published"))
    source = value.get("source")
    return BaselineSpec(year=year, years=tuple(years), published=published, source=None if source is None else str(source))


def _target(path: Path, value: Any) -> TargetSpec | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(path, "target", "must be a mapping or null")
    year = value.get("year")
    if year is not None:
        year = _int(path, "target.year", year)
    tval = _number_or_groups(path, "target.value", value.get("value"))
    rule = value.get("rule")
    if rule is not None and rule not in TARGET_RULES:
        raise _fail(path, "target.rule", f"unknown rule {rule!r}; known: {sorted(TARGET_RULES)}")
    if tval is None and rule is None:
        raise _fail(path, "target", "needs 'value' or 'rule'")
    return TargetSpec(year=year, value=tval, rule=rule)


def parse_entry(path: Path, raw: Any) -> IndicatorSpec:
    """Validate one parsed YAML document; raise CatalogueError naming the file and key."""
    if not isinstance(raw, Mapping):
        raise CatalogueError(f"{path.name}: the file must hold one mapping")
    for k in REQUIRED_KEYS:
        if k not in raw:
            raise _fail(path, k, "required key missing")
    unknown = set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS)
    if unknown:
        raise _fail(path, sorted(unknown)[0], f"unknown key(s) {sorted(unknown)}")
    ind_id = _str(path, "id", raw["id"])
    if not _IDENT.match(ind_id):
        raise _fail(path, "id", f"{ind_id!r} must be lower-case letters, digits and _")
    if ind_id != path.stem:
        raise _fail(path, "id", f"{ind_id!r} must equal the file name {path.stem!r}")
    code = _str(path, "code", raw["code"])
    if code not in CODE_ORDER:
        raise _fail(path, "code", f"unknown code {code!r}; known: {list(CODE_ORDER)}")
    group = _str(path, "group", raw["group"])
    if group not in GROUPS:
        raise _fail(path, "group", f"unknown group {group!r}; known: {sorted(GROUPS)}")
    unit_table = _str(path, "unit_table", raw["unit_table"])
    if unit_table != f"units.{ind_id}":
        raise _fail(path, "unit_table", f"must be 'units.{ind_id}', got {unit_table!r}")
    direction = _str(path, "direction", raw["direction"])
    if direction not in DIRECTIONS:
        raise _fail(path, "direction", f"must be one of {sorted(DIRECTIONS)}, got {direction!r}")
    params = raw["parameters"] if raw["parameters"] is not None else {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) and _IDENT.match(k) for k in params):
        raise _fail(path, "parameters", "must be a mapping of lower-case names to values")
    if "min_denominator" in params:
        _int(path, "parameters.min_denominator", params["min_denominator"])
    breakdowns = _str_list(path, "breakdowns", raw["breakdowns"], BREAKDOWN_COLUMNS)
    if "national" not in breakdowns:
        raise _fail(path, "breakdowns", "must include 'national'")
    splits = _str_list(path, "splits", raw["splits"] or [], SPLITS)
    age_groups, age_bounds = _age_groups(path, raw["age_groups"])
    measures_raw = raw["measures"]
    if not isinstance(measures_raw, list) or not measures_raw:
        raise _fail(path, "measures", "must be a non-empty list")
    measures = tuple(_measure(path, i, m) for i, m in enumerate(measures_raw))
    ids = [m.id for m in measures]
    if len(set(ids)) != len(ids):
        raise _fail(path, "measures", f"duplicate measure ids in {ids}")
    return IndicatorSpec(
        id=ind_id,
        version=_int(path, "version", raw["version"]),
        code=code,
        group=group,
        name_da=_str(path, "name_da", raw["name_da"]),
        name_en=_str(path, "name_en", raw["name_en"]),
        source_registers=_str_list(path, "source_registers", raw["source_registers"]),
        definition=_str(path, "definition", raw["definition"]),
        parameters=dict(params),
        unit_table=unit_table,
        breakdowns=breakdowns,
        splits=splits,
        age_groups=age_groups,
        measures=measures,
        direction=direction,
        baseline=_baseline(path, raw["baseline"]),
        target=_target(path, raw["target"]),
        flags=_flags(path, raw["flags"]),
        years_defined=_years(path, "years_defined", raw.get("years_defined")),
        age_bounds=age_bounds,
        source_file=path.name,
    )


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.yaml") if p.is_file())


def load_catalogue(folder: Path | str | None = None) -> dict[str, IndicatorSpec]:
    """Every catalogue entry of `folder` (default: pipeline/catalogue), validated, ordered by code."""
    folder = Path(folder) if folder is not None else CATALOGUE_DIR
    specs: dict[str, IndicatorSpec] = {}
    codes: dict[str, str] = {}
    for path in _files(folder):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise CatalogueError(f"{path.name}: not valid YAML: {exc}") from exc
        spec = parse_entry(path, raw)
        if spec.code in codes:
            raise _fail(path, "code", f"{spec.code} is already used by {codes[spec.code]}")
        codes[spec.code] = path.name
        specs[spec.id] = spec
    return dict(sorted(specs.items(), key=lambda kv: CODE_ORDER.index(kv[1].code)))


def catalogue_version(folder: Path | str | None = None) -> str:
    """A short hash of the catalogue files' names and contents (stable across runs and machines)."""
    folder = Path(folder) if folder is not None else CATALOGUE_DIR
    h = hashlib.sha256()
    for path in _files(folder) if folder.is_dir() else []:
        h.update(path.name.encode("utf-8") + b"\0")
        # Normalise line endings so a checkout on Windows gives the same version.
        h.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return h.hexdigest()[:16]


CATALOGUE_VERSION = catalogue_version()
