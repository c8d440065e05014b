"""Processing image: ``prepare``, ``evaluate``, ``postprocess`` (SageMaker Processing contract)."""
