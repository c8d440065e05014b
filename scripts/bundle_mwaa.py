"""`make bundle`: write dist/mwaa/ exactly as Amazon MWAA takes it.

    dist/mwaa/
      dags/               → s3://<bucket>/dags/ (MWAA syncs it every ~30 s)
        train.py evaluate.py deploy.py batch_inference.py
        config/countries.yaml   the countries file: a change needs no environment update
        config/instance_prices.yaml  the instance price table the runs' cost estimates use
        .airflowignore          keeps the scheduler from scanning config/
      plugins.zip         → s3://<bucket>/plugins.zip (unzipped into /usr/local/airflow/plugins,
                            which is on sys.path: `import mlops` works; needs an env update)
      requirements.txt    → s3://<bucket>/requirements.txt (first line: the constraints line)

No startup.sh: the DAGs need nothing beyond the image and requirements.txt.
The library finds the countries file at /usr/local/airflow/dags/config/countries.yaml (beside
plugins/), or wherever MLOPS_COUNTRIES_FILE points; the price table beside it
(MLOPS_PRICES_FILE).
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONSTRAINT_PREFIXES = ("--constraint ", "-c ")
# include/config/ files that ship in dags/config/ (synced with the DAGs: no environment update).
CONFIG_FILES = ("countries.yaml", "instance_prices.yaml")
DAG_FILES = ("train.py", "evaluate.py", "deploy.py", "batch_inference.py")
# A fixed timestamp keeps plugins.zip byte-identical across builds of the same sources, so its
# S3 object version (and the MWAA environment update it triggers) changes only with the code.
ZIP_DATE = (2026, 1, 1, 0, 0, 0)


class BundleError(RuntimeError):
    pass


def _library_files(plugins: Path) -> list[Path]:
    return sorted(
        path
        for path in plugins.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def write_plugins_zip(plugins: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in _library_files(plugins):
            info = zipfile.ZipInfo(path.relative_to(plugins).as_posix(), date_time=ZIP_DATE)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())


def check_requirements(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    if not first.startswith(CONSTRAINT_PREFIXES):
        raise BundleError(
            f"{path}: the first line must be MWAA's constraints line "
            f"('--constraint \"https://...constraints-3.3.1/constraints-3.12.txt\"'), got {first!r}"
        )


def build(out: Path, root: Path = ROOT) -> Path:
    """Write the bundle into ``out`` (replaced if present); returns ``out``."""
    requirements = root / "requirements.txt"
    check_requirements(requirements)
    if out.exists():
        shutil.rmtree(out)
    dags = out / "dags"
    (dags / "config").mkdir(parents=True)
    for name in DAG_FILES:
        shutil.copy2(root / "dags" / name, dags / name)
    for name in CONFIG_FILES:
        shutil.copy2(root / "include" / "config" / name, dags / "config" / name)
    (dags / ".airflowignore").write_text("config/\n", encoding="utf-8")
    write_plugins_zip(root / "plugins", out / "plugins.zip")
    shutil.copy2(requirements, out / "requirements.txt")
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "dist" / "mwaa"
    try:
        build(out.resolve())
    except BundleError as exc:
        print(f"bundle: {exc}", file=sys.stderr)
        return 1
    for path in sorted(out.rglob("*")):
        if path.is_file():
            print(f"{path.relative_to(out)}  {path.stat().st_size} B")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
