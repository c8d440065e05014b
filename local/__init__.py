"""Local mode: the embedded AWS + SageMaker backend, demo data and the demo runner."""

import sys
from pathlib import Path

# The product's library lives in plugins/ (MWAA's plugins folder, on Airflow's sys.path); the
# local tooling reads results through it too (e.g. the winners registry).
_PLUGINS = str(Path(__file__).resolve().parent.parent / "plugins")
if _PLUGINS not in sys.path:
    sys.path.append(_PLUGINS)
