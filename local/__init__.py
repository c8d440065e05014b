"""Local mode: the embedded AWS + SageMaker backend, demo data and the demo runner.

The product's library (plugins/mlops, MWAA's plugins folder) is installed editable into .venv by
`make venv` (the repository's pyproject.toml), so `import mlops` works here as on MWAA."""
