"""The model's own predict, in process, one thread: records per second and per CPU-second.

Run in the images' environment (``.venv-ml``) by bench/batch.py, once per model:
``python -m bench.predict_rate <model dir> <JSON Lines records>``; prints one JSON object. The
records are decoded before timing; predict includes featurization, as in bench/images.py.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from bench.images import ONE_THREAD, raw_throughput

ROUNDS = 3


def main(argv: list[str]) -> int:
    model_dir, records = Path(argv[0]), Path(argv[1])
    os.environ.update(ONE_THREAD)
    import torch
    from ml_common.model import load_model

    torch.set_num_threads(1)
    figures = raw_throughput(load_model(model_dir), records.read_bytes().splitlines(), ROUNDS)
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
