"""`zoo datasets` and `zoo data preview` through the real app."""

from __future__ import annotations

from kit import invoke, needs_real_fashion_mnist as needs_fashion


@needs_fashion
def test_datasets_lists_fashion_mnist(monkeypatch):
    from zoo.cli.common import console

    monkeypatch.setattr(console, "width", 300)  # one table row per line, nothing wrapped
    result = invoke("datasets")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "fashion_mnist" in text and "found" in text
    assert "60,000 train" in text and "10,000 test" in text
    assert "10: T-shirt/top, Trouser, Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle boot" in text
    assert "folder:PATH" in text and "tfds:NAME" in text


@needs_fashion
def test_data_preview_writes_png(tmp_path):
    out = tmp_path / "grid.png"
    result = invoke("data", "preview", "fashion_mnist", "--augment", "light", "--n", "6",
                    "--out", str(out), "--seed", "1")
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temporary file left behind


def test_data_preview_bad_inputs(tmp_path):
    out = tmp_path / "grid.png"
    result = invoke("data", "preview", "fashion_mnist", "--augment", "strnog", "--out", str(out))
    assert result.exit_code != 0
    assert "Did you mean: strong" in result.output and not out.exists()
    assert "Traceback" not in result.output
    result = invoke("data", "preview", f"folder:{tmp_path / 'nope'}", "--out", str(out))
    assert result.exit_code != 0 and "does not exist" in result.output and not out.exists()
