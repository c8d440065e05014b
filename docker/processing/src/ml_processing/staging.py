"""Write job outputs to a staging area and move them into place only when the job succeeds."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager

from ml_common.contract import ProcessingPaths


@contextmanager
def staged_outputs(paths: ProcessingPaths, names: list[str]):
    """Yield ``{name: staging dir}``; on success files move to ``processing/output/<name>``."""
    root = paths.staging_dir / f"job-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    staged = {name: root / name for name in names}
    for directory in staged.values():
        directory.mkdir(parents=True)
    try:
        yield staged
        for name, directory in staged.items():
            target = paths.output(name)
            target.mkdir(parents=True, exist_ok=True)
            for item in directory.iterdir():
                destination = target / item.name
                if destination.is_dir():
                    shutil.rmtree(destination)
                shutil.move(str(item), str(destination))
    finally:
        shutil.rmtree(root, ignore_errors=True)
        if paths.staging_dir.exists() and not any(paths.staging_dir.iterdir()):
            paths.staging_dir.rmdir()
