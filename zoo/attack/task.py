"""`zoo attack` as a library task: load the model and its data, attack, evaluate transfer, write.

``run_attack`` is what the CLI calls once; it returns an ``AttackResult`` (the report and the files
it wrote) and never prints: ``progress`` (a ``zoo.progress.Progress``) hears the notes a user should
see and each long phase (the CLI shows them with rich).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# what an attack folder holds (zoo.io.output_dir replaces such a folder whole)
from zoo.progress import SILENT
from zoo.rundir import (ADVERSARIAL_FILE, ATTACK_CURVE, ATTACK_DIR, ATTACK_EXAMPLES, ATTACK_IMAGES_DIR,
                        ATTACK_OUTPUTS, ATTACK_TRANSFER, REPORT_FILE, default_out_dir)


@dataclass
class AttackResult:
    report: dict  # what report.json holds
    files: dict  # what -> path written


def run_attack(model_path, *, methods, eps_values, dataset=None, split="test", n=None, data_dir=None,
               target=None, use_labels=True, steps=None, step_size=None, random_start=None, batch_size=256,
               seed=0, input_scale="auto", eval_on=(), out=None, png_count=16, grid_eps=None, overlay=(),
               eps_scale="pixel", progress=None) -> AttackResult:
    """Attack the classifier at ``model_path`` on ``n`` examples of its data (None: the whole split).

    ``methods`` are registered attack names; ``eps_values`` are pixel levels out of 255, or fractions
    of the range with ``eps_scale="unit"`` (an eps under one pixel level gets a note: most likely a
    fraction given in pixel units; ``progress`` hears it, else it is a warning); ``overlay`` are
    report.json files of earlier attacks drawn in the curve too; ``eval_on`` models are evaluated on
    the crafted examples (transferability). Output goes to ``out`` (default: beside the model).
    """
    from zoo.attack.registry import check_eps_scale, check_method, small_eps_warning, to_pixels

    methods = [check_method(m) for m in methods]
    eps_scale = check_eps_scale(eps_scale)
    eps_values = sorted({to_pixels(e, eps_scale) for e in eps_values})
    note = small_eps_warning(eps_values) if eps_scale == "pixel" else None
    if note is not None:
        if progress is None:
            import warnings

            warnings.warn(note, stacklevel=2)
        else:
            progress.note(note)  # a SmallEpsWarning: str() names the Python parameters, .worded(flag_of) the flags
    progress = progress or SILENT
    model_path = Path(model_path)
    all_examples = n is None
    overlays = _read_overlays(overlay or [])
    from zoo.io import check_output_dir

    out_dir = Path(out) if out else default_out_dir(model_path, ATTACK_DIR)
    check_output_dir(out_dir, owns=ATTACK_OUTPUTS, command="zoo attack")  # before any attack is computed
    from zoo.inputs import check_input_scale

    check_input_scale(input_scale)

    from zoo.attack.report import resolve_target
    from zoo.run import Run, load_classifier

    run = Run.open(model_path)  # opened once: the model, its class names and its data
    model, class_names = run.load_classifier()
    resolve_target(target, class_names)  # unknown class: fail before loading data
    others = [(str(p), load_classifier(p)[0]) for p in eval_on]

    spec = run.data_options(dataset)[0]
    input_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    with progress.phase(f"Loading {spec} ({split})..."):
        data = run.data(dataset, data_dir=data_dir, limit=None if all_examples else n, num_classes=len(class_names),
                        seed=seed)
        images, labels = _load_examples(data, spec, split, None if all_examples else n, input_shape)
    class_names = run.class_names(len(class_names), data)
    from zoo.inputs import adapt_classifier, image_stats

    model, notes = adapt_classifier(model, input_scale, stats=lambda: image_stats(images), source=str(model_path))
    for note in notes:
        progress.note(note)

    from zoo.attack.report import evaluate_robustness, transfer_matrix

    with progress.phase(f"Attacking {len(images)} examples with {', '.join(methods)} at eps "
                f"{', '.join(f'{e:g}' for e in eps_values)}..."):
        attacked = evaluate_robustness(
            model, images, labels, class_names, methods=methods, eps_list=eps_values, target=target,
            use_labels=use_labels, steps=steps, step_size=step_size, random_start=random_start,
            batch_size=batch_size, seed=seed,
        )
    report = attacked.report
    report["model"] = str(model_path)
    report["dataset"] = spec
    report["split"] = split
    report["eps_scale_given"] = eps_scale
    if others:
        with progress.phase("Evaluating transferability..."):
            report["transfer"] = transfer_matrix(attacked, str(model_path), others, batch_size=batch_size)

    from zoo.io import output_dir

    with output_dir(out_dir, "zoo attack", ATTACK_OUTPUTS) as stage:  # published whole, or not at all
        files = _write_outputs(attacked, stage, out_dir, png_count=png_count, grid_eps=grid_eps, overlays=overlays)
    return AttackResult(report, files)


def _load_examples(data, spec, split, n, input_shape):
    """(images float32 [0,255], labels) of the first ``n`` examples of a split (None: all of it)."""
    import numpy as np

    from zoo.errors import InvalidArgumentError

    from zoo.data import load_examples

    data.split(split)  # an unknown or missing split fails here, with the splits there are
    size = data.sizes.get({"validation": "val", "valid": "val"}.get(split, split))
    if n is None or (size and n > size):
        if not size:
            raise InvalidArgumentError(f"The size of {spec} {split} is unknown; pass --n instead of --all.")
        n = size  # load_examples batches all n at once: never ask for more than there are
    images, labels, _ = load_examples(data, split=split, n=n, input_shape=input_shape)
    return np.asarray(images, "float32"), np.asarray(labels).astype("int32").reshape(-1)


def _read_overlays(paths) -> dict:
    """{label: report} from report.json files written by `zoo attack` (checked before attacking)."""
    import json

    from zoo.errors import InvalidArgumentError

    overlays = {}
    for path in paths:
        try:
            rep = json.loads(Path(path).read_text())
            rep["results"], rep["clean"]["accuracy"]  # noqa: B018  (the keys the curve reads)
        except (OSError, ValueError, KeyError, TypeError):
            raise InvalidArgumentError(
                f"--overlay {path} is not a {REPORT_FILE} written by `zoo attack`; pass such a file."
            ) from None
        overlays[Path(rep.get("model", path)).name] = rep
    return overlays


def _pick_grid_eps(eps_values, wanted):
    if wanted is not None:
        return min(eps_values, key=lambda e: abs(e - wanted))
    return 8.0 if 8.0 in eps_values else eps_values[len(eps_values) // 2]


def _write_outputs(run, out_dir: Path, final_dir: Path, *, png_count: int, grid_eps, overlays=None) -> dict:
    """Report, figures, arrays and PNGs written into ``out_dir`` (the staging folder); returns {what:
    path}, the paths (and the report's) named in ``final_dir``, where the folder is published."""
    import numpy as np

    from zoo.io import atomic_path, write_json
    from zoo.plots.attack import plot_accuracy_vs_eps, plot_examples, plot_transfer

    report = run.report
    names = report["class_names"]
    files = {}
    curve = out_dir / ATTACK_CURVE
    name = Path(report["model"]).name
    plot_accuracy_vs_eps(report, curve, title=f"{name}: accuracy under attack ({report['samples']} {report['split']} examples)",
                         extra_curves=overlays, main_label=name)
    files["curve"] = curve

    from zoo.attack.registry import strongest as strongest_of

    strongest = strongest_of(report["attack"]["methods"])  # the grid shows the strongest attack run
    eps_values = [r["eps"] for r in report["results"][strongest]]
    e = _pick_grid_eps(eps_values, grid_eps)
    adv, adv_logits = run.adversarial[(strongest, e)]
    # Show what the attack does: first the examples it turned from right to wrong, then others.
    fooled = (run.clean_logits.argmax(1) == run.labels) & (adv_logits.argmax(1) != run.labels)
    order = np.concatenate([np.flatnonzero(fooled), np.flatnonzero(~fooled)])[:6]
    grid = out_dir / ATTACK_EXAMPLES
    plot_examples(run.images[order], adv[order], run.labels[order], run.clean_logits[order], adv_logits[order],
                  names, eps=e, method=strongest, path=grid)
    files["grid"] = grid

    for method, transfer in report.get("transfer", {}).items():
        path = out_dir / ATTACK_TRANSFER.format(method)
        plot_transfer(transfer, path, method)
        files[f"transfer_{method}"] = path

    arrays = {"images": run.images, "labels": run.labels, "attack_labels": run.attack_labels}
    for (method, eps), (adv, logits) in run.adversarial.items():
        arrays[f"{method}_eps{eps:g}"] = adv
        arrays[f"{method}_eps{eps:g}_pred"] = logits.argmax(axis=1)
    npz = out_dir / ADVERSARIAL_FILE
    with atomic_path(npz) as tmp:
        np.savez_compressed(tmp, **arrays)
    files["arrays"] = npz
    if png_count:
        files["pngs"] = _write_pngs(run, out_dir / ATTACK_IMAGES_DIR, png_count)
    files["report"] = out_dir / REPORT_FILE
    files = {k: final_dir / Path(v).relative_to(out_dir) for k, v in files.items()}
    report["files"] = {k: str(v) for k, v in files.items() if k != "report"}
    write_json(out_dir / REPORT_FILE, report)
    return files


def _write_pngs(run, root: Path, count: int) -> Path:
    """The first ``count`` clean and adversarial images as 8-bit PNGs (rounded; the .npz is exact)."""
    import numpy as np
    from PIL import Image

    from zoo.io import atomic_path

    names = run.report["class_names"]

    def save(array, path):
        pixels = np.clip(np.rint(array), 0, 255).astype("uint8")
        pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
        with atomic_path(path) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")

    count = min(count, len(run.images))
    for i in range(count):
        save(run.images[i], root / "clean" / f"{i:04d}_{_safe(names[run.labels[i]])}.png")
    for (method, eps), (adv, logits) in run.adversarial.items():
        pred = logits.argmax(axis=1)
        for i in range(count):
            true, got = _safe(names[run.labels[i]]), _safe(names[pred[i]])
            save(adv[i], root / f"{method}_eps{eps:g}" / f"{i:04d}_{true}_as_{got}.png")
    return root


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in str(name))
