"""Classify image files with any model the zoo can load: a run, a .keras file, an ensemble, a shipped name.

Images of any size and 1 or 3 channels are converted to the model's input the same way as
``zoo explain --images`` (zoo.explain.images); folders stand for the image files in them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from zoo import checks

SHEET_MAX = 60  # images on one contact sheet: 10 rows of 6 stay readable (and under matplotlib's size limit)


@dataclass
class ImagePrediction:
    path: str
    top: list[tuple[str, float]]  # (class name, probability), most likely first

    def to_dict(self) -> dict:
        return {"path": self.path, "top": [{"class": c, "probability": p} for c, p in self.top]}


@dataclass
class PredictResult:
    model_path: str
    class_names: list[str]
    predictions: list[ImagePrediction]
    probabilities: np.ndarray = field(repr=False)  # (N, classes)
    sheet: str | None = None  # the contact sheet PNG, when one was written
    notes: list[str] = field(default_factory=list)  # what was assumed about the model's input and output
    tta: str = "none"  # test-time augmentation the probabilities were averaged over

    def to_dict(self) -> dict:
        return {"model": self.model_path, "tta": self.tta, "predictions": [p.to_dict() for p in self.predictions],
                **({"sheet": self.sheet} if self.sheet else {}), **({"notes": self.notes} if self.notes else {})}


def predict_images(model_path, images, *, top: int = 5, batch_size: int = 64, sheet=None,
                   input_scale: str = "auto", tta: str = "none") -> PredictResult:
    """Top-``top`` classes and probabilities of each image; with ``sheet``, a contact sheet PNG there.

    ``tta`` ("flip", "flip+shift") averages the logits over test-time views (zoo/tta.py)."""
    from zoo.tta import check_tta

    tta = check_tta(tta)
    top = checks.positive_int(top, "top")
    if sheet is not None:
        from zoo.io import check_output_file

        check_output_file(sheet, ".png", example="sheet.png")
    from zoo.ensemble import softmax
    from zoo.backend import to_numpy
    from zoo.evaluation import compiled_predict
    from zoo.explain.images import expand_image_paths, load_image_files
    from zoo.run import load_classifier

    from zoo.inputs import adapt_classifier, check_input_scale, image_stats

    check_input_scale(input_scale)
    files = expand_image_paths(images, option="IMAGES")
    model, class_names = load_classifier(model_path)
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    # standardize: with the statistics of (the first batch of) the images given
    model, notes = adapt_classifier(model, input_scale, source=str(model_path),
                                    stats=lambda: image_stats(load_image_files(files[:batch_size], shape, option="IMAGES")))
    predict = compiled_predict(model, tta=tta)
    # one batch of files in memory at a time: a folder of thousands of photos stays small
    logits = np.concatenate([to_numpy(predict(load_image_files(files[i:i + batch_size], shape, option="IMAGES")))
                             for i in range(0, len(files), batch_size)])
    probs = softmax(logits.astype("float64"))
    k = min(top, probs.shape[1])
    order = np.argsort(-probs, axis=1)[:, :k]
    preds = [ImagePrediction(str(f), [(class_names[j], float(probs[i, j])) for j in order[i]])
             for i, f in enumerate(files)]
    result = PredictResult(str(model_path), list(class_names), preds, probs, notes=notes, tta=tta)
    if sheet is not None:
        from zoo.plots.predict import plot_contact_sheet

        shown = min(len(files), SHEET_MAX)
        title = f"{model_path}: top classes" + (f" (the first {shown} of {len(files)} images)" if shown < len(files) else "")
        plot_contact_sheet(files[:shown], preds[:shown], sheet, channels=shape[2], title=title)
        result.sheet = str(sheet)
    return result
