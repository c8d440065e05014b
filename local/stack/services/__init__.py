"""Project-implemented services; every module here registers its routes at import."""
