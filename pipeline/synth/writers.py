"""Writing register files: which format each file gets, and the Parquet / CSV writers.

Belongs here: the file naming (`<register>/<register>_<YYYY>.<ext>` or `<register>/<register>.<ext>`),
the deterministic format mix the contract allows (Parquet; CSV with `;` or `,`; Latin-1 for some CSVs
with Danish text), and the byte-level writing. What goes into a file is decided elsewhere.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

YEARLY = {"bef": True, "dod": False, "lpr_adm": True, "lpr_diag": True, "lpr_markoer": True,
          "lpr_f_kontakter": True, "lpr_f_diagnoser": True, "lpr_f_forloebsmarkoerer": True, "tvang": True,
          "dream": False, "sundhedsprofil": True, "sociale_indsatser": False, "uddannelse": True,
          "lup_psykiatri": True}
LATIN1_REGISTERS = {"lpr_f_kontakter"}  # Danish specialty names: SAS exports are often Latin-1
SINGLE_FILE_FORMAT = {"dod": ("csv", ",", "utf-8"), "dream": ("parquet", None, None),
                      "sociale_indsatser": ("csv", ";", "utf-8")}
CSV_CHUNK = 500_000


@dataclass(frozen=True)
class FileFormat:
    ext: str  # 'parquet' or 'csv'
    sep: str | None = None
    encoding: str | None = None

    @property
    def label(self) -> str:
        return "parquet" if self.ext == "parquet" else f"csv({self.sep!r},{self.encoding})"


def file_format(register: str, year: int | None) -> FileFormat:
    """The format of one file: fixed per register and year, so every world mixes formats the same way."""
    if year is None:
        ext, sep, enc = SINGLE_FILE_FORMAT[register]
        return FileFormat(ext, sep, enc)
    slot = (zlib.crc32(register.encode()) + year) % 4
    if slot in (0, 2):
        return FileFormat("parquet")
    sep = ";" if slot == 1 else ","
    enc = "latin-1" if (register in LATIN1_REGISTERS and sep == ";") else "utf-8"
    return FileFormat("csv", sep, enc)


def file_path(root: Path, register: str, year: int | None, fmt: FileFormat) -> Path:
    name = f"{register}_{year}" if year is not None else register
    return root / register / f"{name}.{fmt.ext}"


def write_frame(df: pl.DataFrame, path: Path, fmt: FileFormat) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt.ext == "parquet":
        df.write_parquet(path, statistics=False)
        return
    time_format = "%H:%M" if fmt.sep == ";" else "%H:%M:%S"
    opts = dict(separator=fmt.sep, date_format="%Y-%m-%d", time_format=time_format, null_value="")
    if fmt.encoding == "utf-8":
        df.write_csv(path, **opts)
        return
    with path.open("wb") as fh:  # polars writes UTF-8 only: encode chunk by chunk
        for i, lo in enumerate(range(0, max(df.height, 1), CSV_CHUNK)):
            text = df.slice(lo, CSV_CHUNK).write_csv(include_header=(i == 0), **opts)
            fh.write(text.encode(fmt.encoding))
