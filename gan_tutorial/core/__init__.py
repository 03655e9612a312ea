"""The library's base layer: data, models, losses, regularizers, sampling, checkpoints."""
