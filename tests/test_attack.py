"""Invariants of the attack methods and of mix_adversarial (adversarial training)."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from kit import fashion_mnist_arrays, linear_classifier, pixels, real_fashion_mnist, tiny_classifier  # noqa: E402

from zoo.attack import methods  # noqa: E402
from zoo.attack.adversarial_training import mix_adversarial  # noqa: E402
from zoo.attack.registry import ATTACKS, strongest, training_methods  # noqa: E402
from zoo.errors import InvalidArgumentError, UnknownNameError  # noqa: E402
from zoo.evaluation import predict_logits  # noqa: E402

W_PATTERN = np.array([1.0, -1.0, 0.0, 2.0] * 4, dtype="float32")


def linear_model(scale: float = 0.01):
    """Two logits z0 = s*w.x, z1 = -s*w.x: d CE(y=0)/dx = -2 p1 s w, so sign(grad) = -sign(w) for y=0."""
    return linear_classifier((4, 4, 1), 2, kernel=np.stack([W_PATTERN, -W_PATTERN], axis=1) * scale)


@pytest.fixture(scope="module")
def trained():
    """A small dense classifier trained for a few seconds on 3,000 Fashion-MNIST images."""
    if not real_fashion_mnist():
        pytest.skip("Fashion-MNIST files not installed")
    x_train, y_train = fashion_mnist_arrays("train", 3000)
    x_test, y_test = fashion_mnist_arrays("test", 200)
    model = tiny_classifier(convs=(), hidden=64, seed=0)  # rescale, flatten, fc1 (64, relu), logits
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x_train, y_train, batch_size=128, epochs=3, verbose=0)
    return model, x_test, y_test


# ---------------------------------------------------------------- FGSM on a hand-built model


def test_fgsm_exact_on_linear_model():
    model = linear_model()
    x = np.full((2, 4, 4, 1), 100.0, "float32")
    adv = methods.fgsm(model, x, np.array([0, 1]), 8)
    step = -np.sign(W_PATTERN).reshape(4, 4, 1) * 8  # label 0 moves against w, label 1 along it
    np.testing.assert_array_equal(adv[0], x[0] + step)
    np.testing.assert_array_equal(adv[1], x[1] - step)


def test_fgsm_clips_to_pixel_range():
    model = linear_model()
    x = np.zeros((1, 4, 4, 1), "float32")
    x[0, 0, 1, 0] = 250.0  # w = -1 here: label 0 pushes this pixel up, past 255
    adv = methods.fgsm(model, x, np.array([0]), 16)
    assert adv.min() == 0.0 and adv.max() == 255.0
    assert adv[0, 0, 1, 0] == 255.0
    assert adv[0, 0, 0, 0] == 0.0  # pushed down from 0, clipped


def test_targeted_step_lowers_target_loss():
    model = linear_model(scale=0.001)  # unsaturated softmax: both targets have a positive loss
    x = np.full((4, 4, 4, 1), 120.0, "float32")
    target = np.array([1, 1, 0, 0])

    def target_loss(images):
        logits = model(images, training=False)
        return keras.losses.sparse_categorical_crossentropy(target, logits, from_logits=True).numpy()

    assert np.all(target_loss(x) > 0.1)
    adv = methods.fgsm(model, x, target, 4, targeted=True)
    assert np.all(target_loss(adv) < target_loss(x))
    adv_pgd = methods.pgd(model, x, target, 4, targeted=True)
    assert np.all(target_loss(adv_pgd) < target_loss(x))


@pytest.mark.parametrize("method", methods.METHODS)
def test_eps_zero_returns_input(method):
    model = linear_model()
    x = pixels(3, (4, 4, 1), whole=True)
    adv = methods.attack(model, x, np.array([0, 1, 0]), method, 0)
    np.testing.assert_array_equal(adv, x)


@pytest.mark.parametrize("method", methods.METHODS)
@pytest.mark.parametrize("eps", [1.5, 8, 40])
def test_perturbation_within_ball_and_pixel_range(method, eps):
    model = linear_model(scale=0.001)
    x = pixels(5, (4, 4, 1), seed=1, whole=True)
    adv = methods.attack(model, x, np.array([0, 1, 0, 1, 0]), method, eps, steps=5, batch_size=2)
    assert adv.shape == x.shape
    assert np.abs(adv - x).max() <= eps + 1e-4
    assert adv.min() >= 0.0 and adv.max() <= 255.0


def test_step_defaults():
    assert methods.resolve_settings("bim", 8).step_size == 2.0
    pgd = methods.resolve_settings("pgd", 8, steps=7)
    assert pgd.step_size == pytest.approx(2.5 * 8 / 7) and pgd.random_start
    assert not methods.resolve_settings("bim", 8).random_start
    assert methods.resolve_settings("fgsm", 8).steps == 1


@pytest.mark.parametrize("bad", [-1, 256, float("nan"), "eight", None, True])
def test_bad_eps_is_a_clear_error(bad):
    with pytest.raises(InvalidArgumentError, match="pixel levels in \\[0, 255\\]"):
        methods.check_eps(bad)


def test_unknown_method():
    with pytest.raises(UnknownNameError, match="pgd"):
        methods.resolve_settings("pgdd", 8)


# ---------------------------------------------------------------- on a (quickly) trained model


def test_pgd_stays_in_ball_and_beats_fgsm(trained):
    model, x, y = trained
    eps = 16  # where PGD's extra steps matter on this nearly linear model (at eps 8 they tie)
    fgsm_adv, fgsm_logits, _ = methods.attack_and_predict(model, x, y, "fgsm", eps)
    pgd_adv, pgd_logits, _ = methods.attack_and_predict(model, x, y, "pgd", eps, steps=10)
    assert np.abs(pgd_adv - x).max() <= eps + 1e-4
    assert pgd_adv.min() >= 0 and pgd_adv.max() <= 255
    clean = (predict_logits(model, x).argmax(1) == y).mean()
    acc_fgsm = (fgsm_logits.argmax(1) == y).mean()
    acc_pgd = (pgd_logits.argmax(1) == y).mean()
    assert acc_fgsm < clean
    assert acc_pgd <= acc_fgsm

    def mean_loss(logits):
        return keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True).numpy().mean()

    assert mean_loss(pgd_logits) > mean_loss(fgsm_logits)  # PGD climbs the loss higher in the same ball
    # the logits returned come from the returned images
    np.testing.assert_allclose(predict_logits(model, pgd_adv), pgd_logits, rtol=1e-4, atol=1e-4)


def test_robust_accuracy_falls_with_eps(trained):
    model, x, y = trained
    accs = []
    for eps in [0, 2, 4, 8, 16]:
        _, logits, _ = methods.attack_and_predict(model, x, y, "pgd", eps, steps=5, seed=3)
        accs.append((logits.argmax(1) == y).mean())
    assert all(b <= a for a, b in zip(accs, accs[1:])), accs
    assert accs[-1] < accs[0]


# ---------------------------------------------------------------- adversarial training


@pytest.mark.parametrize("method", training_methods())
def test_mix_adversarial_shapes_labels_bounds(method):
    model = linear_model()
    x = tf.constant(pixels(6, (4, 4, 1), seed=2, whole=True))
    y = tf.constant([0, 1, 0, 1, 0, 1])
    mixed, labels = tf.function(
        lambda a, b: mix_adversarial(model, a, b, method=method, eps=4.0, ratio=0.5)
    )(x, y)
    assert mixed.shape == x.shape and mixed.dtype == x.dtype
    np.testing.assert_array_equal(labels.numpy(), y.numpy())
    diff = np.abs(mixed.numpy() - x.numpy()).reshape(6, -1).max(axis=1)
    assert np.all(diff <= 4.0 + 1e-5)
    assert np.all(diff[:3] > 0) and np.all(diff[3:] == 0)  # only the first half is replaced
    assert mixed.numpy().min() >= 0 and mixed.numpy().max() <= 255


def test_mix_adversarial_one_hot_and_ratio_one():
    model = linear_model()
    x = tf.constant(np.full((4, 4, 4, 1), 50.0, "float32"))
    y = tf.one_hot([0, 1, 1, 0], 2)
    mixed, labels = mix_adversarial(model, x, y, method="fgsm", eps=2.0, ratio=1.0)
    assert np.all(np.abs(mixed.numpy() - 50.0).reshape(4, -1).max(axis=1) == 2.0)
    assert labels is y


def test_mix_adversarial_inside_fit():
    """The function runs inside model.fit's compiled train step."""

    class AdvModel(keras.Model):
        def train_step(self, data):
            x, y = data
            x, y = mix_adversarial(self, x, y, method="pgd", eps=8.0, ratio=0.5, steps=2)
            return super().train_step((x, y))

    model = linear_classifier((4, 4, 1), 2, model_class=AdvModel)
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = pixels(16, (4, 4, 1))
    y = (x.mean(axis=(1, 2, 3)) > 127).astype("int32")
    history = model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize(
    "kwargs, match",
    [({"method": "bim"}, "fgsm and pgd"), ({"eps": -2}, "^adv_eps must"), ({"ratio": 1.5}, "^adv_ratio must")],
)
def test_mix_adversarial_bad_arguments(kwargs, match):
    args = {"method": "fgsm", "eps": 8.0, "ratio": 0.5} | kwargs
    with pytest.raises(InvalidArgumentError, match=match):
        mix_adversarial(linear_model(), tf.zeros((2, 4, 4, 1)), tf.constant([0, 1]), **args)


class _StopGradient(keras.layers.Layer):
    """Identity forward, zero gradient: the crudest gradient masking."""

    def call(self, x):
        return tf.stop_gradient(x)


def test_masked_gradients_raise_red_flags(trained):
    from zoo.attack.report import evaluate_robustness

    model, x, y = trained
    single = next(a.name for a in ATTACKS if a.single_step)  # one signed-gradient step
    inp = keras.Input((28, 28, 1), name="image")  # the masking wrapper is what this test is about
    masked = keras.Model(inp, model(_StopGradient(name="mask")(inp)))
    run = evaluate_robustness(masked, x, y, [str(i) for i in range(10)], methods=[single, strongest(ATTACKS.names())],
                              eps_list=[8, 64])
    single_at_64 = run.report["results"][single][1]
    assert single_at_64["robust_accuracy"] == run.report["clean"]["accuracy"]  # sign(0) = 0: nothing moves
    assert single_at_64["mean_linf"] == 0.0
    assert any(flag.startswith(f"{single}: random sign noise hurts more than the attack at eps 64")
               for flag in run.report["red_flags"]), run.report["red_flags"]
    assert any(flag.startswith(f"{single}: the attack did not move any pixel at eps 8, 64")
               for flag in run.report["red_flags"]), run.report["red_flags"]
