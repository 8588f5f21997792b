"""`zoo models` and `zoo info`: tables, numbers, and one-line errors on bad input."""

from __future__ import annotations

import re

import pytest
from kit import ROOT, invoke


def _plain(result) -> str:
    return result.output + (result.stderr if result.stderr_bytes is not None else "")


def test_models_lists_matching_models_with_params_and_flops():
    result = invoke("models", "lenet")
    assert result.exit_code == 0, _plain(result)
    out = result.stdout
    assert "lenet5" in out and "simplenet" in out and "resnet" not in out
    assert "61,706" in out and "233,196" in out
    # FLOPs come from the graph: simplenet's convs and FCs are 4.22M FLOPs per image
    assert re.search(r"simplenet.*4\.22M", out)


def test_models_markdown_table():
    result = invoke("models", "resnet2*", "--markdown")
    assert result.exit_code == 0, _plain(result)
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("| Model |") and lines[1].startswith("|---")
    assert len(lines) == 3 and "`resnet20`" in lines[2] and "269,722" in lines[2]


def test_models_no_match_is_a_clear_error():
    result = invoke("models", "resnot*")
    assert result.exit_code != 0
    assert "resnot*" in _plain(result) and "Traceback" not in _plain(result)


def test_info_reports_counts_and_paper():
    result = invoke("info", "googlenet_small", "--input-shape", "32,32,3", "--classes", "7", "--no-summary")
    assert result.exit_code == 0, _plain(result)
    out = result.stdout
    assert "Szegedy et al. 2014" in out and "32x32x3" in out
    assert re.search(r"Trainable params\s+[\d,]+", out) and re.search(r"Non-trainable params\s+[\d,]+", out)
    assert "inception5b_concat" in out


def test_info_summary_lists_layers():
    result = invoke("info", "lenet5")
    assert result.exit_code == 0, _plain(result)
    assert "conv1" in result.stdout and "standardize" in result.stdout and "61,706" in result.stdout


def test_info_unknown_model_suggests_close_names():
    result = invoke("info", "resnet19")
    assert result.exit_code != 0
    text = _plain(result)
    assert "resnet19" in text and "resnet18" in text and "Traceback" not in text
    assert len(text.strip().splitlines()) <= 3


@pytest.mark.parametrize("bad", ["28,28", "a,b,c", "28,28,2", "0,28,1"])
def test_info_malformed_input_shape_is_a_clear_error(bad):
    result = invoke("info", "lenet5", "--input-shape", bad)
    assert result.exit_code != 0
    text = _plain(result)
    assert bad in text and "Traceback" not in text
    assert len(text.strip().splitlines()) <= 3


def test_info_too_small_input_for_the_model_is_a_clear_error():
    result = invoke("info", "alexnet", "--input-shape", "32,32,3")
    assert result.exit_code != 0
    assert "at least 63x63" in _plain(result) and "Traceback" not in _plain(result)


def test_docs_table_is_up_to_date_for_the_lenet_rows():
    """docs/models.md is generated; a stale page would disagree with the registry's numbers."""
    docs = (ROOT / "docs" / "models.md").read_text()
    result = invoke("models", "lenet", "--markdown")
    assert result.exit_code == 0, _plain(result)
    for row in result.stdout.strip().splitlines()[2:]:
        assert row in docs, f"docs/models.md is stale; run scripts/gen_models_doc.py ({row})"
