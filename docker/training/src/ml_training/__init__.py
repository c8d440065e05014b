"""Training image: ``train`` (SageMaker Training contract), algorithms ``linear`` and ``neural``."""
