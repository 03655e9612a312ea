"""GANs from theory to practice: companion package."""
__version__ = "0.1.0"
