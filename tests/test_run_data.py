"""A run's own data (dataset, data_dir, val split, seed) is re-created everywhere through
``Run.data`` (eval, ensemble, attack, explain), and the compiled predict function is cached per
model (no retrace per call)."""

import numpy as np
import pytest
from kit import dataset_of, fake_run, linear_classifier, pixels

from zoo.data import load_dataset, load_examples
from zoo.errors import ModelFileError
from zoo.run import Run


def _npz(tmp_path, n=40):
    # image i is the constant i, so an image's value names it
    x = np.repeat(np.arange(n, dtype=np.uint8)[:, None, None], 36, axis=1).reshape(n, 6, 6)
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=np.arange(n) % 4)
    return f"npz:{path}"


def _run_dir(tmp_path, spec, **extra):
    return fake_run(tmp_path, False, dataset=spec, model="simplenet", val_split=0.2, seed=3, **extra)


def _ids(images):
    return sorted(int(v) for v in np.asarray(images).reshape(len(images), -1)[:, 0])


def test_run_data_options_read_the_run_config(tmp_path):
    spec = _npz(tmp_path)
    run = _run_dir(tmp_path, spec, data_dir="/data/here")
    own = (spec, {"data_dir": "/data/here", "val_fraction": 0.2, "seed": 3})
    assert Run.open(run).data_options() == own
    assert Run.open(run / "model.keras").data_options() == own  # the run's model file
    assert Run.open(run).data_options(spec) == own
    assert Run.open(run).data_options("fashion_mnist") == ("fashion_mnist", {})  # another dataset: its defaults
    assert Run.open(run).data_options(spec, data_dir="/elsewhere")[1]["data_dir"] == "/elsewhere"
    bare = tmp_path / "elsewhere"
    bare.mkdir()
    assert Run.open(bare / "m.keras").data_options() == ("fashion_mnist", {})  # a bare .keras file has no config


def test_run_data_is_the_runs_split_and_checks_the_class_count(tmp_path):
    spec = _npz(tmp_path)
    run = Run.open(_run_dir(tmp_path, spec))
    data = run.data()
    assert _ids([im.numpy() for im, _ in data.val]) == _ids([im.numpy() for im, _ in
                                                              load_dataset(spec, val_fraction=0.2, seed=3).val])
    assert run.data(num_classes=4).num_classes == 4
    with pytest.raises(ModelFileError, match="predicts 10 classes but .* has 4"):
        run.data(num_classes=10)


def test_load_examples_val_is_the_runs_val_split(tmp_path):
    spec = _npz(tmp_path)
    run = _run_dir(tmp_path, spec)
    args = Run.open(run).data_options()[1]
    expected = load_dataset(spec, val_fraction=0.2, seed=3).val
    want = _ids([im.numpy() for im, _ in expected])
    images, labels, _ = load_examples(spec, split="val", n=100, **args)
    assert len(images) == len(want) == 8
    assert _ids(images) == want
    assert sorted(int(v) % 4 for v in want) == sorted(labels.tolist())
    # the defaults (val 0.1, seed 0) carve another split: the leak this guards against
    default_images, _, _ = load_examples(spec, split="val", n=100)
    assert _ids(default_images) != want


def test_explain_loads_the_runs_val_split(tmp_path):
    from zoo.explain.task import load_inputs

    spec = _npz(tmp_path)
    run = _run_dir(tmp_path, spec)
    model = linear_classifier((6, 6, 1), 4)
    images, _, _, _ = load_inputs(run, model, files=(), dataset=None, split="val", n=100, data_dir=None, seed=0)
    assert _ids(images) == _ids([im.numpy() for im, _ in load_dataset(spec, val_fraction=0.2, seed=3).val])


def test_logits_and_labels_traces_once_per_model():
    from zoo.evaluation import compiled_predict, logits_and_labels

    model = linear_classifier((4, 4, 1), 3)
    ds = dataset_of(pixels(8, (4, 4, 1)), np.arange(8) % 3, batch=4)
    first, _ = logits_and_labels(model, ds)
    fn = compiled_predict(model)
    second, _ = logits_and_labels(model, ds)
    assert compiled_predict(model) is fn
    assert fn.experimental_get_tracing_count() == 1
    np.testing.assert_allclose(first, second)
    other = linear_classifier((4, 4, 1), 3, seed=1)
    assert compiled_predict(other) is not fn


def test_predict_members_reuses_its_compiled_function():
    from zoo.ensemble import build_ensemble_model, predict_members
    from zoo.evaluation import compiled_predict

    ens = build_ensemble_model([linear_classifier((4, 4, 1), 3, seed=s) for s in (1, 2)], "soft")
    ds = dataset_of(pixels(8, (4, 4, 1)), np.arange(8) % 3, batch=4)
    first, labels = predict_members(ens, ds)
    second, _ = predict_members(ens, ds)
    assert first.shape == (2, 8, 3) and labels.tolist() == (np.arange(8) % 3).tolist()
    np.testing.assert_allclose(first, second)
    fn = compiled_predict(ens, key="members")
    assert fn.experimental_get_tracing_count() == 1
