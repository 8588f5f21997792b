"""Same answers on every Keras 3 backend (issue 22): the shipped simplenet and resnet20, loaded by
name on JAX and on PyTorch, give TensorFlow's logits, gradient saliency maps, Grad-CAM maps and
FGSM/PGD robust accuracies on the same test images; a short training from TensorFlow's initial
weights follows TensorFlow's loss curve; `zoo explain` and `zoo attack` run there; and
with TensorFlow not installed, train (resuming to the same weights), eval, predict, explain and
attack run on the NumPy data path (zoo/data/arrays.py).

Each backend runs in its own interpreter (``KERAS_BACKEND`` is read when Keras is first imported);
a backend that is not installed is skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import json
import signal
from pathlib import Path

import numpy as np
import pytest

from kit import WITHOUT_TENSORFLOW, run_python, run_zoo, write_images, zoo_env

MODELS = ("simplenet", "resnet20")
ATTACKS = ("fgsm", "pgd")
N_ATTACK = 64  # images attacked per model (robust accuracies compared)
N_MAPS = 8  # images whose saliency and Grad-CAM maps are compared
EPS = 8.0  # pixel levels: both models keep some, not all, robust accuracy there

# One interpreter per backend: load each shipped model by name, run every seam on the same images.
PROBE = """
import json, sys
import numpy as np
import zoo
from zoo.attack.methods import attack_and_predict
from zoo.backend import name
from zoo.evaluation import predict_logits
from zoo.explain.gradcam import GradCam, resolve_layer
from zoo.explain.saliency import GradientEngine, to_heatmap
from zoo.run import Run

out, models, n_attack, n_maps, eps = sys.argv[1], sys.argv[2].split(','), int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5])
arrays = {}
for m in models:
    model, _ = Run.open(m).load_classifier()
    x, y, _ = zoo.load_data('fashion_mnist', 'test', n=n_attack)
    logits = predict_logits(model, x)
    targets = logits[:n_maps].argmax(1)
    arrays[m + '/logits'] = logits
    arrays[m + '/saliency'] = to_heatmap(GradientEngine(model).gradient(x[:n_maps], targets))
    arrays[m + '/gradcam'] = GradCam(model, resolve_layer(model, None))(x[:n_maps], targets)
    for method in sys.argv[6].split(','):
        _, adv_logits, _ = attack_and_predict(model, x, y, method, eps, seed=0)
        arrays[m + '/' + method] = (adv_logits.argmax(1) == y).astype('int32')
np.savez(out, **arrays)
print(json.dumps({'backend': name()}))
"""


def _installed(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def probe(backend: str, path) -> dict:
    result = run_python(PROBE, path, ",".join(MODELS), N_ATTACK, N_MAPS, EPS, ",".join(ATTACKS), env=zoo_env(KERAS_BACKEND=backend),
                        timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"backend": backend}
    with np.load(path) as data:
        return dict(data)


@pytest.fixture(scope="module")
def tensorflow_answers(tmp_path_factory):
    return probe("tensorflow", tmp_path_factory.mktemp("tf") / "answers.npz")


def spearman(a, b) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(np.ravel(a), np.ravel(b)).statistic)


OTHER_BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(not _installed(b), reason=f"{b} is not installed "
                                                            "(scripts/setup.sh installs its CPU wheel)"))
                  for b in ("jax", "torch")]


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_same_answers_as_tensorflow(backend, tensorflow_answers, tmp_path):
    theirs = probe(backend, tmp_path / "answers.npz")
    for m in MODELS:
        ref, got = tensorflow_answers[f"{m}/logits"], theirs[f"{m}/logits"]
        # float32 convolutions summed in another order: about 1e-6 of the logits' scale
        assert np.abs(got - ref).max() <= 1e-4 * max(1.0, np.abs(ref).max()), (m, np.abs(got - ref).max())
        assert (got.argmax(1) == ref.argmax(1)).all(), m
        for maps in ("saliency", "gradcam"):
            assert spearman(theirs[f"{m}/{maps}"], tensorflow_answers[f"{m}/{maps}"]) >= 0.999, (m, maps)
        for method in ATTACKS:
            ours, tf_ = theirs[f"{m}/{method}"], tensorflow_answers[f"{m}/{method}"]
            # equal, but for an image whose loss ties within float error (at most one of 64)
            assert abs(int(ours.sum()) - int(tf_.sum())) <= 1 and (ours != tf_).sum() <= 1, (m, method)


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_explain_and_attack_commands_run_on_the_backend(backend, tmp_path):
    env = {"KERAS_BACKEND": backend}
    explained = run_zoo("explain", "resnet20", "--method", "all", "--n", 2, "--samples", 4, "--steps", 4,
                        "--out", tmp_path / "explain", env=env)
    assert explained.returncode == 0, explained.stdout[-2000:] + explained.stderr[-3000:]
    assert (tmp_path / "explain" / "explain.json").is_file()
    attacked = run_zoo("attack", "resnet20", "--method", "pgd", "--n", 32, "--eps", "8", "--out",
                       tmp_path / "attack", env=env)
    assert attacked.returncode == 0, attacked.stdout[-2000:] + attacked.stderr[-3000:]
    assert any((tmp_path / "attack").iterdir())


def test_an_unknown_backend_is_refused_in_one_line(tmp_path):
    proc = run_zoo("eval", "simplenet", "--limit", "10", env={"KERAS_BACKEND": "bogus"}, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "KERAS_BACKEND='bogus' is not a Keras backend" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) <= 2 and not list(tmp_path.iterdir())


COMPARE_WEIGHTS = """
import sys
import numpy as np
from zoo.run import Run
a, b = (Run.open(path).load_classifier()[0].get_weights() for path in sys.argv[1:3])
assert len(a) == len(b)
print(max(float(np.abs(x - y).max()) for x, y in zip(a, b)))
"""


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_commands_run_without_tensorflow(backend, tmp_path):
    def zoo(*args, fault=None):
        proc = run_zoo(*args, env={"KERAS_BACKEND": backend}, prelude=WITHOUT_TENSORFLOW, cwd=tmp_path, fault=fault)
        assert proc.returncode == (0 if fault is None else -signal.SIGKILL), (args, proc.stdout[-2000:] +
                                                                             proc.stderr[-3000:])
        return proc

    train = ("train", "simplenet", "--limit", 192, "--batch-size", 32, "--epochs", 2, "--augment", "standard",
             "--ema", "0.9")
    zoo(*train, "--out", "straight")
    zoo(*train, "--out", "resumed", fault="backup epoch 2:KILL")  # killed in its second epoch's backup
    zoo(*train, "--out", "resumed", "--resume")
    for run in ("straight", "resumed"):
        assert (tmp_path / run / "metrics.json").is_file()
    # each epoch's batches and augmentations come from its own seed: a resumed run is the same run
    compare = run_python(WITHOUT_TENSORFLOW + COMPARE_WEIGHTS, tmp_path / "straight", tmp_path / "resumed",
                         env=zoo_env(KERAS_BACKEND=backend))
    assert compare.returncode == 0, compare.stderr[-3000:]
    assert float(compare.stdout.strip().splitlines()[-1]) <= 1e-6
    evaluated = zoo("eval", "resumed", "--out", "eval")
    assert (tmp_path / "eval" / "metrics.json").is_file(), evaluated.stdout
    shipped = json.loads(zoo("eval", "simplenet", "--limit", 200, "--json").stdout.strip().splitlines()[-1])
    assert shipped["accuracy"] >= 0.85  # the shipped model, on this backend's data path
    zoo("explain", "simplenet", "--method", "all", "--n", 2, "--samples", 4, "--steps", 4, "--out", "explain")
    zoo("attack", "simplenet", "--method", "fgsm", "--n", 16, "--out", "attack")
    assert (tmp_path / "explain" / "explain.json").is_file() and (tmp_path / "attack" / "report.json").is_file()
    predicted = zoo("predict", "simplenet", tmp_path / "attack" / "images" / "clean")
    assert "Traceback" not in predicted.stderr


def test_the_gpu_check_runs_without_tensorflow(tmp_path):
    """scripts/gpu_check.py, the accelerator check, on this CPU with TensorFlow hidden (tiny sizes)."""
    backend = next((b for b in ("jax", "torch") if _installed(b)), None)
    if backend is None:
        pytest.skip("neither jax nor torch is installed (scripts/setup.sh installs their CPU wheels)")
    script = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"
    out = tmp_path / "check.json"
    code = WITHOUT_TENSORFLOW + f"import runpy, sys\nsys.argv = [{str(script)!r}] + sys.argv[1:]\n" \
                                f"runpy.run_path({str(script)!r}, run_name='__main__')"
    proc = run_python(code, "--child", "--epochs", 1, "--limit", 256, "--test-limit", 128, "--n-explain", 2,
                      "--n-attack", 16, "--out", out, env=zoo_env(KERAS_BACKEND=backend), timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["backend"] == backend and result["failures"] == [] and result["tensorflow_importable"] is False
    assert result["shipped"]["accuracy"] >= 0.85 and result["train"]["epochs"] == 1
    assert result["train"]["images_per_s"][0] > 0 and result["train"]["train_images"] == 256
    from zoo.explain.registry import EXPLAIN_METHODS
    assert set(result["explain"]) == set(EXPLAIN_METHODS.names())  # every method ran
    assert all(m["finite"] for m in result["explain"].values())
    pgd = result["attack"]["pgd"]
    assert pgd["robust_accuracy"] <= result["attack"]["fgsm"]["robust_accuracy"] <= pgd["clean_accuracy"]


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_export_without_tensorflow(backend, tmp_path):
    """ONNX from PyTorch through torch.onnx, reloaded by onnxruntime and checked; the TensorFlow formats
    (and JAX's jax2tf route) are refused in one line that says why, with nothing written."""
    def zoo(*args):
        return run_zoo("export", "simplenet", *args, env={"KERAS_BACKEND": backend}, prelude=WITHOUT_TENSORFLOW,
                       cwd=tmp_path)

    refused = zoo("--format", "tflite", "--out", "m.tflite")
    assert refused.returncode == 2 and "Traceback" not in refused.stderr, refused.stderr
    assert len(refused.stderr.strip().splitlines()) <= 2 and not list(tmp_path.iterdir())
    exported = zoo("--format", "onnx", "--out", "m.onnx", "--json")
    if backend == "jax":  # Keras converts JAX through jax2tf: TensorFlow again
        assert exported.returncode == 2 and "jax2tf" in exported.stderr and not list(tmp_path.iterdir())
        return
    if importlib.util.find_spec("onnxruntime") is None:
        pytest.skip("onnxruntime is not installed (pip install 'zoo[export]')")
    assert exported.returncode == 0, exported.stderr[-3000:]
    result = json.loads(exported.stdout.strip().splitlines()[-1])
    assert (tmp_path / "m.onnx").is_file() and result["max_abs_diff"] <= 1e-4 * max(1.0, result["logit_scale"])


MIX = """
import json
import keras
import numpy as np
import zoo
from zoo.attack import mix_adversarial
from zoo.run import Run
model = Run.open('simplenet').load_classifier()[0]
x, y, _ = zoo.load_data('fashion_mnist', 'test', n=16)
mixed = keras.ops.convert_to_numpy(mix_adversarial(model, x, y, method='pgd', eps=8.0, ratio=0.5, seed=3)[0])
loss = lambda a: float(np.mean(keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(
    y[:8], model(a[:8], training=False), from_logits=True))))
print(json.dumps({'change': float(np.abs(mixed[:8] - x[:8]).max()), 'tail_same': bool((mixed[8:] == x[8:]).all()),
                  'in_range': bool(mixed.min() >= 0 and mixed.max() <= 255), 'clean': loss(x), 'adversarial': loss(mixed)}))
"""


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_adversarial_training_runs_on_the_backend(backend, tmp_path):
    """mix_adversarial crafts PGD examples on the backend (in the eps-ball, raising the loss, the rest of
    the batch untouched), and `zoo train --adversarial pgd` trains with it, TensorFlow hidden."""
    probe = run_python(WITHOUT_TENSORFLOW + MIX, env=zoo_env(KERAS_BACKEND=backend))
    assert probe.returncode == 0, probe.stderr[-3000:]
    mixed = json.loads(probe.stdout.strip().splitlines()[-1])
    assert 0 < mixed["change"] <= 8.0 + 1e-3 and mixed["tail_same"] and mixed["in_range"]
    assert mixed["adversarial"] > mixed["clean"]
    trained = run_zoo("train", "simplenet", "--limit", 128, "--batch-size", 32, "--epochs", 1, "--adversarial", "pgd",
                      "--out", "adv", env={"KERAS_BACKEND": backend}, prelude=WITHOUT_TENSORFLOW, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert json.loads((tmp_path / "adv" / "config.json").read_text())["adversarial"] == "pgd"


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_a_tf_data_dataset_on_the_backend(backend, tmp_path):
    """An image folder is read through tf.data: on JAX and PyTorch it trains with augmentation applied
    after tf.data (Keras runs zoo's layers in a tf.data graph on TensorFlow only), and where TensorFlow
    is missing it is refused in one line that says what to do."""
    for name, value in (("dark", 20), ("light", 230)):
        write_images(tmp_path / "data" / name, 6, size=(12, 12), value=value)
    args = ("train", "simplenet", "--dataset", f"folder:{tmp_path / 'data'}", "--input-shape", "16,16,3",
            "--augment", "light", "--epochs", 1, "--batch-size", 4)
    trained = run_zoo(*args, "--out", tmp_path / "run", env={"KERAS_BACKEND": backend})
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert (tmp_path / "run" / "metrics.json").is_file()
    refused = run_zoo(*args, "--out", tmp_path / "refused", env={"KERAS_BACKEND": backend}, prelude=WITHOUT_TENSORFLOW)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert "read through tf.data" in refused.stderr and len(refused.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "refused").exists()


# A short training through zoo's trainer (model.fit, its optimizer, schedule and callbacks) from the same
# initial weights: TensorFlow's, saved by its run and loaded by the others (each backend's seeded
# initializers draw other numbers). One batch holds the whole training split, so tf.data's shuffle and
# the NumPy path's shuffle only reorder it within the batch; no augmentation, no dropout (resnet20).
LOSS_CURVE = """
import json, sys
from pathlib import Path
from unittest import mock
import numpy as np
import zoo, zoo.registry
from zoo.backend import name

start = Path(sys.argv[2])
create = zoo.registry.create_model

def same_start(*args, **kwargs):
    model = create(*args, **kwargs)
    if start.exists():
        with np.load(start) as saved:
            model.set_weights([saved[str(i)] for i in range(len(saved.files))])
    else:
        np.savez(start, **{str(i): w for i, w in enumerate(model.get_weights())})
    return model

with mock.patch.object(zoo.registry, 'create_model', same_start):
    result = zoo.train('resnet20', 'fashion_mnist', epochs=int(sys.argv[3]), limit=int(sys.argv[4]),
                       batch_size=int(sys.argv[4]), augment='none', optimizer='momentum', lr=float(sys.argv[5]),
                       schedule='cosine', warmup_epochs=1, precision='fp32', out=sys.argv[1], progress=False)
print(json.dumps({'backend': name(), 'loss': [r['loss'] for r in result.history],
                  'val_loss': [r['val_loss'] for r in result.history], 'test': result.metrics['accuracy']}))
"""
CURVE_EPOCHS, CURVE_IMAGES, CURVE_LR = 8, 192, 0.01


def loss_curve(backend: str, tmp_path, start) -> dict:
    proc = run_python(LOSS_CURVE, tmp_path / f"run-{backend}", start, CURVE_EPOCHS, CURVE_IMAGES, CURVE_LR,
                      env=zoo_env(KERAS_BACKEND=backend), timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    curve = json.loads(proc.stdout.strip().splitlines()[-1])
    assert curve["backend"] == backend and len(curve["loss"]) == CURVE_EPOCHS
    return curve


@pytest.fixture(scope="module")
def tensorflow_curve(tmp_path_factory):
    folder = tmp_path_factory.mktemp("curve")
    return loss_curve("tensorflow", folder, folder / "start.npz"), folder / "start.npz"


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_a_short_training_follows_tensorflows_loss_curve(backend, tensorflow_curve, tmp_path):
    reference, start = tensorflow_curve
    curve = loss_curve(backend, tmp_path, start)
    ref, got = np.array(reference["loss"]), np.array(curve["loss"])
    assert ref[-1] < 0.8 * ref[0], reference  # it learned: a curve worth comparing
    # The backends sum float32 in other orders (Keras' batch-norm variance is E[(x-m)^2] on one and
    # E[x^2]-m^2 on another): about 1e-5 of the loss at the start, and training amplifies it, as it
    # amplifies any float-level change (measured: TensorFlow against itself from weights moved by 1e-6
    # of their size ends 0.005 apart after these 8 steps; the backends ended 0.004-0.007 apart). A wrong
    # learning rate, schedule step or batch would be off by tenths from the first steps on.
    assert np.abs(got - ref)[:3].max() <= 1e-3, (ref, got)
    assert np.abs(got - ref).max() <= 1e-2 * ref[0], (ref, got)
    assert np.abs(np.array(curve["val_loss"]) - np.array(reference["val_loss"])).max() <= 1e-2
