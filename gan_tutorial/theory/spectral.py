"""Chapter 6, spectral normalisation and spectral regularization, derived on small matrices.

A weight ``W = U diag(sigma) V^T``. Spectral normalisation (Miyato et al., 2018) divides by
``sigma_1``; spectral regularization (Liu et al., 2019) first adds ``Delta W = U diag(delta)
V^T``, which keeps the singular vectors and lifts the singular values. The sympy functions
below build ``W`` from rotations (rational parametrization) and singular values and *compute* (eigenvalues of
``W^T W``, products with the singular vectors, cancellation) what the chapter states:

* ``spectral_norm_2x2``: the singular values of ``W / sigma_1`` are ``1`` and ``sigma_2 / sigma_1``;
* ``static_compensation_2x2``: lifting ``sigma_2`` to ``sigma_1`` makes ``W_SR`` orthogonal;
* ``singular_vectors_kept``: ``(W + Delta W) v_j = (sigma_j + delta_j) u_j``;
* ``dynamic_compensation_bounds``: the dynamic compensated value, from ``singular_vectors_kept``,
  lies in ``[gamma_j, 1]``;
* ``check_parametrization``: the package's :class:`~gan_tutorial.regularizers.SpectralCompensation`
  on a random 5x4 matrix keeps the singular vectors of ``W`` and has the predicted values.
"""

from __future__ import annotations

import sympy as sp
import torch

s1, s2 = sp.symbols("sigma_1 sigma_2", positive=True)
theta, phi = sp.symbols("theta phi", real=True)  # rotation parameters: tan(angle / 2)
lam = sp.Symbol("lambda")


def rotation(t: sp.Expr) -> sp.Matrix:
    """The 2x2 rotation by the angle ``2 arctan(t)``, in rational form (``cos = (1-t^2)/(1+t^2)``).

    Every rotation but the half turn has this form; rational entries keep sympy fast and exact.
    """
    c, s_ = (1 - t**2) / (1 + t**2), 2 * t / (1 + t**2)
    return sp.Matrix([[c, -s_], [s_, c]])


def weight_2x2(values=(s1, s2)) -> sp.Matrix:
    """``W = U diag(values) V^T`` with ``U = rotation(theta)`` and ``V = rotation(phi)``."""
    return (rotation(theta) * sp.diag(*values) * rotation(phi).T).applyfunc(sp.cancel)


def singular_values_squared(W: sp.Matrix) -> list[sp.Expr]:
    """The roots of ``det(W^T W - lambda I)`` (the squared singular values), sorted."""
    gram = (W.T * W).applyfunc(sp.cancel)
    coeffs = [sp.factor(sp.cancel(c)) for c in gram.charpoly(lam).all_coeffs()]
    roots = sp.roots(sp.Poly(coeffs, lam))
    return sorted(roots, key=sp.default_sort_key)


def spectral_norm_2x2() -> dict:
    """Singular values of ``W`` and of ``W_SN = W / sigma_1`` for ``sigma_1 >= sigma_2 > 0``."""
    W = weight_2x2()
    sq = singular_values_squared(W)
    W_sn = W / s1
    sq_sn = singular_values_squared(W_sn)
    return {"W": W, "squared_singular_values": sq, "squared_singular_values_sn": sq_sn,
            "singular_values_sn": sorted((sp.sqrt(e) for e in sq_sn), key=sp.default_sort_key)}


def static_compensation_2x2() -> dict:
    """Lift ``sigma_2`` to ``sigma_1``: ``W_SR = (W + Delta W) / sigma_1`` and ``W_SR^T W_SR``."""
    W = weight_2x2()
    U, V = rotation(theta), rotation(phi)
    delta_w = U * sp.diag(0, s1 - s2) * V.T
    W_sr = ((W + delta_w) / s1).applyfunc(sp.cancel)
    return {"delta_W": delta_w.applyfunc(sp.cancel), "W_SR": W_sr,
            "W_SR^T W_SR": (W_sr.T * W_sr).applyfunc(sp.cancel)}


def singular_vectors_kept() -> dict:
    """``(W + Delta W) v_j`` for the right singular vectors ``v_j`` of ``W`` (dynamic deltas)."""
    g2 = sp.Symbol("gamma_2", nonnegative=True)
    delta2 = g2 * (s1 - s2)
    W = weight_2x2()
    U, V = rotation(theta), rotation(phi)
    delta_w = U * sp.diag(0, delta2) * V.T
    images = [((W + delta_w) * V[:, j]).applyfunc(sp.cancel) for j in range(2)]
    # coefficient of u_j in the image: u_j^T (W + Delta W) v_j
    coeffs = [sp.factor(sp.cancel((U[:, j].T * images[j])[0])) for j in range(2)]
    residual = [(images[j] - coeffs[j] * U[:, j]).applyfunc(sp.cancel) for j in range(2)]
    return {"coefficients": coeffs, "residuals": residual, "delta_2": delta2}


def dynamic_compensation_bounds() -> dict:
    """The dynamic compensated value of the second singular value, derived, and its bounds.

    Steps: :func:`singular_vectors_kept` computes ``c_2 = u_2^T (W + Delta W) v_2`` with
    ``delta_2 = gamma_2 (sigma_1 - sigma_2)``; divided by ``sigma_1`` it is the normalised
    singular value of ``W_SR``, written with ``sigmabar = sigma_2 / sigma_1`` and
    ``gamma = gamma_2``. Returns that value, its excess over ``gamma`` and its gap to 1, each
    factorised: for ``0 <= sigmabar, gamma <= 1`` both are products of non-negative factors,
    so the value lies in ``[gamma, 1]``: a normalised singular value never falls below the
    largest ratio ``gamma_j`` it has had in training.
    """
    sbar, g = sp.symbols("sigmabar gamma", nonnegative=True)
    kept = singular_vectors_kept()
    c2 = kept["coefficients"][1]
    g2 = next(sym for sym in c2.free_symbols if sym.name == "gamma_2")
    value = sp.expand(sp.cancel((c2 / s1).subs({s2: sbar * s1, g2: g})))
    return {"c_2": c2, "value": value, "value - gamma": sp.factor(value - g),
            "1 - value": sp.factor(1 - value)}


def check_parametrization(mode: str = "dynamic", top: int = 2, seed: int = 0) -> dict:
    """Apply :class:`SpectralCompensation` to a random ``(5, 4)`` matrix; compare SVDs.

    In dynamic mode ``gamma`` is first raised to the ratios of a second matrix, as if training
    had passed through it. Returns the singular values of ``W_SR``, the predicted ones
    (:func:`~gan_tutorial.regularizers.compensated_spectrum` divided by ``sigma_1``) and the
    largest deviation of ``W_SR v_j`` from ``predicted_j u_j`` over the singular vectors
    ``u_j, v_j`` of ``W``: 0 means W_SR keeps W's singular vectors and has the predicted values
    (this holds even where lifted values tie and the SVD of ``W_SR`` itself is not unique).
    """
    from ..core.regularizers import SpectralCompensation, compensated_spectrum

    g = torch.Generator().manual_seed(seed)
    W = torch.randn(5, 4, generator=g, dtype=torch.float64)
    param = SpectralCompensation(W, mode, top).double()
    if mode == "dynamic":
        param(torch.randn(5, 4, generator=g, dtype=torch.float64))  # a past weight sets gamma
    gamma = param.gamma.clone()
    W_sr = param(W).detach()
    U, S, Vh = torch.linalg.svd(W, full_matrices=False)
    want = compensated_spectrum(S, mode, top, gamma if mode == "dynamic" else None) / S[0]
    return {"singular_values": torch.linalg.svdvals(W_sr), "predicted": want, "gamma": gamma,
            "vector_deviation": float((W_sr @ Vh.T - U * want).abs().max())}
