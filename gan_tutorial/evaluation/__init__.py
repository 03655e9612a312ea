"""Measuring what a generator makes: metrics, plots, latent-space helpers, trained generators."""
