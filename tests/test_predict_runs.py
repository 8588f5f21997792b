"""`zoo predict` (classify image files) and `zoo runs` (list and compare run directories)."""

import numpy as np
import pytest
from PIL import Image
from kit import cli, cli_json, fake_run, save_image, tiny_classifier


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from zoo.data import load_dataset

    folder = tmp_path_factory.mktemp("images")
    data = load_dataset("fashion_mnist", limit=16)
    x, y = (t.numpy() for t in next(iter(data.split("test").batch(3))))
    Image.fromarray(x[0, :, :, 0]).resize((56, 84)).save(folder / "tall.png")  # non-square grey, resized
    Image.fromarray(np.repeat(x[1], 3, axis=-1)).resize((60, 40)).save(folder / "wide_rgb.jpg")
    rgba = np.concatenate([np.repeat(x[2], 3, -1), np.full((28, 28, 1), 255, "uint8")], -1)
    save_image(folder / "alpha.png", rgba, "RGBA")
    (folder / "notes.txt").write_text("not an image")
    return folder, y


def test_predict_lists_top_classes_that_match_the_model(images, tmp_path):
    from zoo.explain.images import expand_image_paths, load_image_files
    from zoo.run import load_classifier

    folder, labels = images
    sheet = tmp_path / "sheet.png"
    code, out, text = cli_json("predict", "simplenet", folder, "--top", "3", "--json", "--out", sheet)
    assert code == 0, text
    files = expand_image_paths([folder])
    assert [p["path"] for p in out["predictions"]] == [str(f) for f in files]  # txt skipped, sorted
    model, names = load_classifier("simplenet")
    logits = model.predict(load_image_files(files, (28, 28, 1)), verbose=0)
    for p, row in zip(out["predictions"], logits):
        probs = [t["probability"] for t in p["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and sum(probs) <= 1 + 1e-9
        assert p["top"][0]["class"] == names[int(np.argmax(row))]
    with Image.open(sheet) as img:
        assert img.size[0] > 300
    by_name = {p["path"].rsplit("/", 1)[-1]: p["top"][0]["class"] for p in out["predictions"]}
    assert by_name["tall.png"] == names[int(labels[0])]  # the shipped model still gets a resized boot right


@pytest.mark.parametrize("args,message", [
    (["--top", "0"], "--top must be a positive integer"),
    (["--out", "sheet.jpg"], "must name a .png"),
])
def test_predict_refuses_bad_options(images, tmp_path, args, message):
    folder, _ = images
    args = [a if a != "sheet.jpg" else str(tmp_path / a) for a in args]
    code, text = cli("predict", "simplenet", folder, *args)
    assert code != 0 and message in text and "Traceback" not in text
    assert not list(tmp_path.iterdir())


def test_predict_refuses_missing_files_and_empty_folders(tmp_path):
    code, text = cli("predict", "simplenet", tmp_path / "nope.png")
    assert code != 0 and "not found" in text
    (tmp_path / "empty").mkdir()
    code, text = cli("predict", "simplenet", tmp_path / "empty")
    assert code != 0 and "holds no image files" in text


def _fake_run(path, *, epochs_planned=3, history=0, backup=0, finished=False):
    """A simplenet run in some state: history.csv rows with val_accuracy 0.4, 0.5, ... (kit.fake_run)."""
    fake_run(path.parent, tiny_classifier() if finished else False, name=path.name, model="simplenet",
             epochs=epochs_planned, history=history, backup=backup,
             metrics={"accuracy": 0.75, "train_seconds": 6.5} if finished else None)
    if finished:
        fake_run(path, False, name="eval", model="inner")  # an eval output inside: not a run of its own


def test_runs_tells_each_state(tmp_path):
    _fake_run(tmp_path / "done", history=3, finished=True)
    _fake_run(tmp_path / "group" / "half", history=2, backup=2, epochs_planned=5)
    _fake_run(tmp_path / "lost", history=1)
    _fake_run(tmp_path / "never")
    _fake_run(tmp_path / "live", history=1, backup=1)
    (tmp_path / "not-a-run").mkdir()
    from zoo.rundir import RunLock

    live = RunLock(tmp_path / "live", "test").__enter__()  # as a zoo train in progress holds it
    code, listing, text = cli_json("runs", tmp_path, "--json")
    assert code == 0, text
    rows = {r["path"].removeprefix(str(tmp_path) + "/"): r for r in listing}
    live.__exit__(None, None, None)
    assert set(rows) == {"done", "group/half", "lost", "never", "live"}
    assert rows["live"]["state"] == "running"
    assert rows["done"]["state"] == "finished" and rows["done"]["test_accuracy"] == 0.75
    assert rows["done"]["best_val_accuracy"] == pytest.approx(0.6) and rows["done"]["seconds"] == 6.5
    assert (rows["group/half"]["state"], rows["group/half"]["epochs_done"], rows["group/half"]["epochs_planned"]) == (
        "resumable", 2, 5)
    assert rows["lost"]["state"] == "interrupted" and rows["never"]["state"] == "failed"
    code, text = cli("runs", tmp_path)
    assert code == 0 and "resumable" in text and "--resume" in text


def test_runs_compare_overlays_curves_and_refuses_non_runs(tmp_path):
    _fake_run(tmp_path / "a", history=3, finished=True)
    _fake_run(tmp_path / "b", history=2, backup=2)
    out = tmp_path / "curves.png"
    code, text = cli("runs", "--compare", tmp_path / "a", tmp_path / "b", "--out", out)
    assert code == 0, text
    assert out.is_file() and "a, b" in text
    (tmp_path / "c").mkdir()
    code, text = cli("runs", "--compare", tmp_path / "a", tmp_path / "c", "--out", tmp_path / "x.png")
    assert code != 0 and "not a zoo run directory" in text and not (tmp_path / "x.png").exists()
    code, text = cli("runs", tmp_path / "missing")
    assert code != 0 and "No runs folder" in text
