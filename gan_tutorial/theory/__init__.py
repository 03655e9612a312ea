"""Sympy derivations, one module per chapter; the notebooks and the tests assert their results."""
