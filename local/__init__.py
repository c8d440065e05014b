"""Local mode: the embedded AWS + SageMaker backend, demo data and the demo runner."""
