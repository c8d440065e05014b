"""Local mode only (`make airflow`): keep Airflow's log servers on loopback.

Airflow 3.3's worker and triggerer log servers bind every interface (uvicorn with ``host=""``;
no setting changes it). In local mode every listener must be loopback-only, so `make airflow`
copies this file to ``$AIRFLOW_HOME/config/airflow_local_settings.py``, which every Airflow
component imports at start, and it pins those servers to 127.0.0.1. Never shipped to MWAA.
"""

import uvicorn

_uvicorn_run = uvicorn.run
_ANY_INTERFACE = ("", "0.0.0.0", "::", None)  # noqa: S104 - the values being replaced


def _loopback_run(app, *args, **kwargs):
    if kwargs.get("host") in _ANY_INTERFACE:
        kwargs["host"] = "127.0.0.1"
    return _uvicorn_run(app, *args, **kwargs)


uvicorn.run = _loopback_run
