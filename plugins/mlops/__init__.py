"""Library of the per-country MLOps DAGs: config, settings, requests, decisions."""
