"""Inference image: ``serve`` (SageMaker hosting and batch transform contract)."""
