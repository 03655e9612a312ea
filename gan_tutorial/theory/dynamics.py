"""Chapter 1, the dynamics of the game: the Dirac-GAN (Mescheder, Geiger and Nowozin, 2018).

The data are a Dirac at 0; G is a Dirac at ``theta`` (one parameter); D's logit is linear,
``s(x) = psi * x``. With ``f(t) = log sigmoid(t) = -log(1 + exp(-t))`` the package's value
function (D's logit says "real") is

    V(theta, psi) = f(s(0)) + f(-s(theta)) = f(0) + f(-psi * theta).

The paper lets D's output say "fake" instead, ``L(theta, psi) = f(psi * theta) + f(0)``: the
same game with ``psi`` replaced by ``-psi``. D ascends ``V`` (minus its penalty), G descends
its own loss (``minimax``: ``V``'s second term; ``ns``: ``-f(psi * theta)``). The vector
field ``v = (-dL_G/dtheta, dL_D/dpsi)`` is the direction of one simultaneous gradient step.

* sympy: the field, its equilibrium, its Jacobian there and the eigenvalues, for the plain
  game, with R1 (``lambda * psi**2`` on D's loss) and with instance noise; the linear maps of
  simultaneous and alternating gradient steps of size ``h`` and their eigenvalues;
* torch: the same field from the package's own losses by autograd (``torch_field``), a
  one-parameter generator (:class:`DiracG`), and ``dirac_run``, which trains it against a
  linear D with the package's ``d_step`` and ``g_step`` and plain SGD.
"""

from __future__ import annotations

import copy
import dataclasses

import sympy as sp
import torch
from torch import Tensor, nn

from ..core import regularizers
from ..core.losses import GANLoss

THETA, PSI = sp.symbols("theta psi", real=True)
H = sp.Symbol("h", positive=True)              # the step size (SGD's learning rate)
LAM = sp.Symbol("lambda", positive=True)       # the weight of R1 on D's loss (the paper's gamma / 2)
NOISE_STD = sp.Symbol("sigma_noise", positive=True)  # the standard deviation of the instance noise
A = sp.Symbol("f'(0)", positive=True)          # 1/2 for the GAN's f
C = sp.Symbol("f''(0)", real=True)             # -1/4 for the GAN's f


def gan_f(t):
    """``f(t) = log sigmoid(t) = -log(1 + exp(-t))``: the GAN's ``f`` in the paper's notation."""
    return -sp.log(1 + sp.exp(-t))


# ----------------------------------------------------------------------------- sympy
def dirac_field(loss: str = "minimax", r1: bool = False, f=gan_f) -> dict:
    """The Dirac-GAN's value, G's loss and the gradient field ``v(theta, psi)``.

    ``loss`` is ``"minimax"`` (G descends ``V``) or ``"ns"`` (G descends ``-f(psi theta)``,
    the non-saturating loss). With ``r1``, D's loss gets ``lambda * psi**2``: R1 is
    ``||grad_x s(x)||^2`` at the real sample, and ``grad_x (psi x) = psi``. ``f`` may be a sympy
    ``Function`` (a generic ``f``) or :func:`gan_f`. Returns ``V``, ``g_loss``, ``field`` (a
    2x1 Matrix: ``(-d g_loss / d theta, d (V - lambda psi^2) / d psi)``) and ``flow_r2``,
    ``d(theta^2 + psi^2)/dt / 2 = theta v_theta + psi v_psi`` along the gradient flow.
    """
    V = f(PSI * 0) + f(-PSI * THETA)
    g_loss = {"minimax": f(-PSI * THETA), "ns": -f(PSI * THETA)}[loss]
    d_objective = V - (LAM * PSI**2 if r1 else 0)
    field = sp.Matrix([-sp.diff(g_loss, THETA), sp.diff(d_objective, PSI)])
    field = field.applyfunc(sp.simplify)
    return {"V": V, "g_loss": g_loss, "d_objective": d_objective, "field": field,
            "flow_r2": sp.simplify(THETA * field[0] + PSI * field[1])}


def _named_derivatives(expr):
    """Replace sympy's ``Subs(Derivative(f(x), x), x, 0)`` (and the second derivative) by the
    symbols :data:`A` and :data:`C`, printed ``f'(0)`` and ``f''(0)``."""
    names = {1: A, 2: C}
    return expr.subs({s: names[s.expr.derivative_count] for s in expr.atoms(sp.Subs)
                      if isinstance(s.expr, sp.Derivative) and s.point == (0,)})


def equilibrium_analysis(loss: str = "minimax", r1: bool = False) -> dict:
    """The equilibrium of the Dirac-GAN's field and the Jacobian there, with a generic ``f``.

    ``equilibria``: sympy's ``solve`` of ``v = 0`` for the GAN's ``f``. ``jacobian`` is the
    Jacobian of ``v`` at ``(0, 0)`` for a generic ``f``, in terms of ``a = f'(0)`` (taken > 0, as for
    the GAN's ``f``); ``eigenvalues`` its eigenvalues, ``real_parts`` theirs (sympy's ``re``),
    ``trace`` and ``det`` (both eigenvalues of a real 2x2 matrix have negative real parts
    exactly when trace < 0 < det); ``f_prime_0`` is ``f'(0) = 1/2`` for the GAN's ``f`` and
    ``at_gan_f`` the Jacobian and eigenvalues there.
    """
    field = dirac_field(loss, r1, sp.Function("f"))["field"]
    J = _named_derivatives(field.jacobian([THETA, PSI]).subs({THETA: 0, PSI: 0}).doit())
    eig = list(J.eigenvals())
    t = sp.Symbol("t", real=True)
    a_value = sp.diff(gan_f(t), t).subs(t, 0)
    return {
        "equilibria": sp.solve(list(dirac_field(loss, r1)["field"]), [THETA, PSI], dict=True),
        "jacobian": J, "eigenvalues": eig, "real_parts": [sp.simplify(sp.re(e)) for e in eig],
        "trace": J.trace(), "det": sp.factor(J.det()), "f_prime_0": a_value,
        "at_gan_f": {"jacobian": J.subs(A, a_value), "eigenvalues": [e.subs(A, a_value) for e in eig]},
    }


def step_maps(J: sp.Matrix) -> dict:
    """The linear maps of one gradient step of size ``h`` near the equilibrium, for Jacobian ``J``.

    Simultaneous: ``x' = x + h J x``, the matrix ``I + h J``. Alternating, D first as in the
    package's ``gan_step``: ``psi' = psi + h (J[1,0] theta + J[1,1] psi)``, then
    ``theta' = theta + h (J[0,0] theta + J[0,1] psi')``. Returns both matrices, their
    eigenvalues, traces and determinants (for a complex pair, ``|eigenvalue|^2 = det``).
    """
    theta, psi = sp.symbols("theta psi")
    x = sp.Matrix([theta, psi])
    sim = sp.eye(2) + H * J
    psi_new = psi + H * (J[1, 0] * theta + J[1, 1] * psi)
    theta_new = theta + H * (J[0, 0] * theta + J[0, 1] * psi_new)
    alt = sp.Matrix([theta_new, psi_new]).jacobian(x)
    out = {}
    for name, M in (("simultaneous", sim), ("alternating", alt)):
        M = M.applyfunc(sp.expand)
        out[name] = {"matrix": M, "eigenvalues": list(M.eigenvals()),
                     "trace": sp.expand(M.trace()), "det": sp.factor(M.det())}
    return out


def plain_game_steps() -> dict:
    """Gradient steps of size ``h`` on the plain Dirac-GAN (``minimax``, no penalty).

    ``J`` comes from :func:`equilibrium_analysis`. ``simultaneous_modulus``: ``|1 +- i h a|``,
    above 1 for every ``h``. ``simultaneous_r2_gain``: for the full (not linearised) field,
    ``|x + h v|^2 - |x|^2 - h^2 |v|^2``, which sympy finds to be 0 (the step is perpendicular
    to the radius), and ``v_norm2 = |v|^2``. ``alternating``: ``det = 1``; ``complex_when`` the
    values of ``u = h a > 0`` for which ``trace^2 - 4 det < 0``, and ``alternating_modulus2``, ``mu * conj(mu)`` for
    ``h = 2 w / (a (1 + w))``, which maps ``w > 0`` onto ``0 < h < 2 / a``.
    """
    J = equilibrium_analysis("minimax")["jacobian"]
    maps = step_maps(J)
    sim, alt = maps["simultaneous"], maps["alternating"]
    disc = sp.factor(alt["trace"] ** 2 - 4 * alt["det"])
    v = dirac_field("minimax")["field"]
    w, u = sp.Symbol("w", positive=True), sp.Symbol("u", real=True)  # u = h a
    inside = {H: 2 * w / (A * (1 + w))}
    return {"jacobian": J, "maps": maps,
            "simultaneous_modulus": [sp.simplify(sp.Abs(e)) for e in sim["eigenvalues"]],
            "simultaneous_r2_gain": sp.simplify((THETA + H * v[0]) ** 2 + (PSI + H * v[1]) ** 2
                                                - THETA**2 - PSI**2 - H**2 * (v[0] ** 2 + v[1] ** 2)),
            "v_norm2": sp.factor(sp.simplify(v[0] ** 2 + v[1] ** 2)),
            "alternating_discriminant": disc,
            "complex_when": sp.solve_univariate_inequality(disc.subs(H, u / A) < 0, u, relational=False)
                            .intersect(sp.Interval.open(0, sp.oo)),
            "alternating_modulus2": [sp.simplify(e.subs(inside) * sp.conjugate(e.subs(inside)))
                                     for e in alt["eigenvalues"]]}


def r1_steps() -> dict:
    """R1 on D (``lambda psi^2`` on D's loss): the Jacobian from :func:`equilibrium_analysis`.

    ``real_parts``: the eigenvalues' real parts where they are complex, ``a = lambda + w``
    with ``w > 0`` (where they are real, trace < 0 < det makes both negative). For a complex
    eigenvalue ``mu``, ``|1 + h mu|^2 = 1 + h tr J + h^2 det J``; ``simultaneous_contracts``
    solves ``|1 + h mu|^2 < 1`` for ``h``. The alternating map's ``det`` is ``1 - 2 h lambda``:
    its complex eigenvalues have modulus ``sqrt(1 - 2 h lambda) < 1``.
    """
    J = equilibrium_analysis("minimax", r1=True)["jacobian"]
    w = sp.Symbol("w", positive=True)
    eig = list(J.eigenvals())
    modulus2 = sp.expand(1 + H * J.trace() + H**2 * J.det())
    return {"jacobian": J, "eigenvalues": eig, "trace": J.trace(), "det": J.det(),
            "real_parts": [sp.simplify(sp.re(e.subs(A, LAM + w))) for e in eig],
            "maps": step_maps(J), "simultaneous_modulus2": modulus2,
            "simultaneous_contracts": sp.solve_univariate_inequality(modulus2 < 1, H, relational=False)}


def instance_noise_jacobian() -> dict:
    """The Jacobian at ``(0, 0)`` of the expected field when D sees its inputs plus ``N(0, sigma_noise^2)``.

    The real sample is ``eps_1``, the fake ``theta + eps_2``: ``V = E f(psi eps_1) + E f(-psi (theta
    + eps_2))``. ``f`` is generic and bounded in its first two derivatives (the GAN's ``f``
    is), so the Jacobian of the expectation is the expectation of the Jacobian: sympy
    differentiates the integrand, sets ``theta = psi = 0`` and integrates against the two
    Gaussian densities. Returns the per-sample Jacobian ``sample_jacobian`` (in ``f'(0)`` and
    ``f''(0)``), its expectation ``jacobian``, ``trace``, ``det``, ``eigenvalues``,
    ``f_second_0`` (``f''(0) = -1/4`` for the GAN's ``f``) and ``at_gan_f``.
    """
    f = sp.Function("f")
    e1, e2 = sp.symbols("epsilon_1 epsilon_2", real=True)
    V = f(PSI * e1) + f(-PSI * (THETA + e2))
    field = sp.Matrix([-sp.diff(f(-PSI * (THETA + e2)), THETA), sp.diff(V, PSI)])
    Js = _named_derivatives(field.jacobian([THETA, PSI]).subs({THETA: 0, PSI: 0}).doit())

    def density(e):
        return sp.exp(-e**2 / (2 * NOISE_STD**2)) / (sp.sqrt(2 * sp.pi) * NOISE_STD)

    def expectation(expr):
        inner = sp.integrate(sp.expand(expr) * density(e1), (e1, -sp.oo, sp.oo))
        return sp.simplify(sp.integrate(inner * density(e2), (e2, -sp.oo, sp.oo)))

    J = Js.applyfunc(expectation)
    t = sp.Symbol("t", real=True)
    a_value, c_value = (sp.diff(gan_f(t), t, k).subs(t, 0) for k in (1, 2))
    concrete = J.subs({A: a_value, C: c_value})
    return {"sample_jacobian": Js, "jacobian": J, "trace": J.trace(), "det": J.det(),
            "eigenvalues": list(J.eigenvals()), "f_prime_0": a_value, "f_second_0": c_value,
            "at_gan_f": {"jacobian": concrete, "trace": concrete.trace(), "det": concrete.det(),
                         "eigenvalues": list(concrete.eigenvals())}}


def numeric_field(field: sp.Matrix, values: dict | None = None):
    """``field`` as a function ``(theta, psi) -> [v_theta, v_psi]``, other symbols fixed by ``values``."""
    return sp.lambdify((THETA, PSI), list(field.subs(values or {})), "math")


def iterate_field(field: sp.Matrix, start: tuple[float, float], steps: int, h: float,
                  simultaneous: bool = False, values: dict | None = None) -> Tensor:
    """Iterate gradient steps of size ``h`` on the sympy ``field`` (float64): ``(steps + 1, 2)``.

    Simultaneous: both players step from the same point. Alternating: ``psi`` (D) first, then
    ``theta`` (G) at the new ``psi``, the order of ``train.gan_step``.
    """
    v = numeric_field(field, values)
    theta, psi = map(float, start)
    path = [(theta, psi)]
    for _ in range(steps):
        v_theta, v_psi = v(theta, psi)
        if simultaneous:
            theta, psi = theta + h * v_theta, psi + h * v_psi
        else:
            psi = psi + h * v_psi
            theta = theta + h * float(v(theta, psi)[0])
        path.append((float(theta), float(psi)))
    return torch.tensor(path, dtype=torch.float64)


# ----------------------------------------------------------------------------- torch
class DiracG(nn.Module):
    """A generator with one parameter: every sample is ``theta``, whatever ``z`` is. ``(B, 1)``."""

    latent_dim = 1

    def __init__(self, theta: float, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta), dtype=dtype))

    def forward(self, z: Tensor) -> Tensor:
        return self.theta.expand(len(z), 1)


def dirac_discriminator(psi: float, dtype: torch.dtype = torch.float64) -> nn.Linear:
    """A linear D without bias, logit ``s(x) = psi * x``: ``nn.Linear(1, 1, bias=False)``."""
    D = nn.Linear(1, 1, bias=False).to(dtype)
    with torch.no_grad():
        D.weight.fill_(psi)
    return D


def with_r1(loss: GANLoss, weight: float) -> GANLoss:
    """``loss`` with the package's R1 penalty on D, weight ``weight`` (the paper's ``gamma / 2``)."""
    return dataclasses.replace(loss, name=f"{loss.name}+r1", penalty=regularizers.r1_penalty,
                               penalty_weight=weight)


def torch_field(params: Tensor, loss: GANLoss) -> Tensor:
    """The field ``(-d g_loss / d theta, -d d_loss / d psi)`` at ``params = (theta, psi)``, by autograd.

    The losses are the package's (``loss.d_loss`` plus ``loss.penalty_weight`` times
    ``loss.penalty``, as in ``train.d_step``; ``loss.g_loss``), on one real sample 0 and one
    fake sample ``theta``. Built with ``create_graph``, so ``torch.autograd.functional.jacobian``
    can differentiate it.
    """
    theta, psi = params[0], params[1]
    x_real = torch.zeros(1, 1, dtype=params.dtype)
    x_fake = theta.reshape(1, 1)

    def D(x):
        return psi * x[:, 0]  # (B,) logits

    d_loss = loss.d_loss(D(x_real), D(x_fake), x_real=x_real, x_fake=x_fake)
    if loss.penalty is not None and loss.penalty_weight > 0:
        d_loss = d_loss + loss.penalty_weight * loss.penalty(D, x_real, x_fake)
    g_loss = loss.g_loss(D(x_fake), x_real=x_real, x_fake=x_fake)
    (g_theta,) = torch.autograd.grad(g_loss, theta, create_graph=True)
    (d_psi,) = torch.autograd.grad(d_loss, psi, create_graph=True)
    return torch.stack([-g_theta, -d_psi])


def dirac_run(d_step, g_step, loss: GANLoss, start: tuple[float, float], steps: int,
              lr: float, simultaneous: bool = False, noise: float = 0.0,
              batch_size: int = 1, seed: int = 0) -> Tensor:
    """Train :class:`DiracG` against a linear D on data that are all 0, with plain SGD.

    ``d_step`` and ``g_step`` are the package's ``train.d_step`` and ``train.g_step`` (passed
    in: the theory modules do not import the training loop). Alternating: one D step, then
    one G step against the updated D, as in ``train.gan_step``. ``simultaneous``: G's step
    uses a copy of D taken before D's step, so both players move from the same point.
    ``noise``: instance noise of that standard deviation on D's inputs (both steps).
    Returns the path ``(theta, psi)``, ``(steps + 1, 2)``.
    """
    G, D = DiracG(start[0]), dirac_discriminator(start[1])
    opt_g = torch.optim.SGD(G.parameters(), lr=lr)
    opt_d = torch.optim.SGD(D.parameters(), lr=lr)
    x_real = torch.zeros(batch_size, 1, dtype=torch.float64)
    z = torch.zeros(batch_size, 1, dtype=torch.float64)  # G ignores it
    D_before = copy.deepcopy(D) if simultaneous else D
    path = [(float(start[0]), float(start[1]))]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for _ in range(steps):
            if simultaneous:
                with torch.no_grad():
                    D_before.weight.copy_(D.weight)  # D as it was before its step
            d_step(G, D, opt_d, loss, x_real, z, loss.penalty_weight, noise=noise)
            g_step(G, D_before, opt_g, loss, z, x_real, noise=noise)
            path.append((G.theta.item(), D.weight.item()))
    return torch.tensor(path, dtype=torch.float64)
