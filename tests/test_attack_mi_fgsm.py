"""MI-FGSM (Dong et al. 2018): the update rule against a hand-iterated linear model, and what the
records promise every attack (in the ball, in [0, 255], seen by the report, the CLI and the plots)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from kit import linear_classifier  # noqa: E402

from zoo.attack import methods  # noqa: E402
from zoo.attack.registry import ATTACKS, resolve_settings  # noqa: E402

_DRAW = np.random.default_rng(3)
W = _DRAW.normal(0.0, 0.005, (16, 3))  # 4x4x1 pixels -> 3 logits of a few units: the softmax never saturates
X = _DRAW.uniform(20, 235, (6, 4, 4, 1)).astype("float32")  # with W: images where the gradient turns
RNG = np.random.default_rng(7)


def linear_model():
    return linear_classifier((4, 4, 1), 3, kernel=W)


def by_hand(x, y, eps, steps, *, decay=1.0, targeted=False):
    """The paper's rule in NumPy: g <- mu g + grad / ||grad||_1; x <- clip_{x0,eps}(x + eps/T sign(g)).

    For logits z = W^T x the cross-entropy's input gradient is W (softmax(z) - onehot(y)).
    """
    x0 = x.reshape(len(x), -1).astype("float64")
    xt, g = x0.copy(), np.zeros_like(x0)
    for _ in range(steps):
        z = xt @ W
        p = np.exp(z - z.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        grad = (p - np.eye(3)[y]) @ W.T * (-1.0 if targeted else 1.0)
        g = decay * g + grad / np.abs(grad).sum(1, keepdims=True)
        xt = np.clip(np.clip(xt + eps / steps * np.sign(g), x0 - eps, x0 + eps), 0.0, 255.0)
    return xt.reshape(x.shape)


@pytest.mark.parametrize("targeted", [False, True])
def test_mi_fgsm_follows_the_papers_update_rule_on_a_linear_model(targeted):
    x, y = X, np.array([0, 1, 2, 0, 1, 2])
    eps, steps = 48.0, 6
    got = methods.mi_fgsm(linear_model(), x, y, eps, steps=steps, targeted=targeted)
    expected = by_hand(x, y, eps, steps, targeted=targeted)
    np.testing.assert_allclose(got, expected, atol=1e-3)
    # the momentum is what makes it MI-FGSM: without it (mu = 0) some pixels end elsewhere
    assert np.abs(by_hand(x, y, eps, steps, decay=0.0, targeted=targeted) - expected).max() > 1.0


def test_defaults_are_the_papers():
    s = resolve_settings("mi-fgsm", 16)
    assert (s.steps, s.step_size, s.random_start) == (10, 1.6, False)  # T = 10, alpha = eps / T
    assert resolve_settings("mi-fgsm", 16, steps=4).step_size == 4.0
    record = ATTACKS.get("mi-fgsm")
    assert record.craft_multi is None and not record.single_step and record.train_steps is None


def test_a_zero_gradient_leaves_the_image_alone():
    model = linear_classifier((4, 4, 1), 3, kernel=np.zeros((16, 3)))
    x = RNG.uniform(0, 255, (2, 4, 4, 1)).astype("float32")
    np.testing.assert_array_equal(methods.mi_fgsm(model, x, np.array([0, 1]), 8), x)  # 0 / ||0|| is 0, not NaN


def test_unit_scale_and_the_small_eps_warning():
    from zoo.attack.registry import SmallEpsWarning

    x = RNG.uniform(20, 235, (2, 4, 4, 1)).astype("float32")
    y = np.array([0, 1])
    np.testing.assert_array_equal(methods.mi_fgsm(linear_model(), x, y, 8 / 255, eps_scale="unit"),
                                  methods.mi_fgsm(linear_model(), x, y, 8.0))
    with pytest.warns(SmallEpsWarning, match='below one pixel level.*eps_scale="unit"'):
        methods.mi_fgsm(linear_model(), x, y, 8 / 255)


def test_the_report_runs_it_beside_fgsm_and_draws_it():
    from zoo.attack.report import evaluate_robustness
    from zoo.plots.attack import _style

    x = RNG.uniform(20, 235, (8, 4, 4, 1)).astype("float32")
    y = np.arange(8) % 3
    run = evaluate_robustness(linear_model(), x, y, ["a", "b", "c"], methods=["fgsm", "mi-fgsm"], eps_list=[4, 16])
    rows = run.report["results"]["mi-fgsm"]
    assert [r["steps"] for r in rows] == [10, 10] and rows[1]["step_size"] == 1.6
    assert all(r["mean_linf"] <= r["eps"] + 1e-4 for r in rows)
    assert _style("mi-fgsm") == ATTACKS.get("mi-fgsm").style != _style("fgsm")
