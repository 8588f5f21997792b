"""What a command was given as its model: a run directory, a ``.keras`` file or a shipped name.

Every command that takes a model accepts a run directory, a ``.keras`` file, or the name of a model
whose trained weights ship with the package (``weights/manifest.json``, e.g. ``simplenet``).
``Run.open(path)`` opens it once; the command then asks the ``Run`` for its model, registry spec,
config and data. The files of a run directory are named in zoo/rundir.py; listing runs
(``zoo runs``) is zoo/runs.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from zoo.errors import InvalidArgumentError, ModelFileError, UnknownNameError, ZooError, close_matches_hint
from zoo.pretrained import pretrained_names, shipped_model
from zoo.rundir import MODEL_FILE, RunDir


def resolve_model_file(path) -> Path:
    """The ``.keras`` file behind a run directory, a file path or a shipped model's name."""
    p = Path(path)
    if not p.exists() and p.name == str(path):
        shipped = shipped_model(str(path))
        if shipped is not None:
            return shipped[0]
    if p.is_dir():
        f = p / MODEL_FILE
        if not f.is_file():
            raise ModelFileError(
                f"{p} is a directory without {MODEL_FILE}; pass a run directory written by "
                "`zoo train` (finished, or resumed to the end) or a .keras file."
            )
        return f
    if not p.exists():
        raise ModelFileError(f"No such run directory or model file: {p}. Check the path.")
    if p.suffix != ".keras":
        raise ModelFileError(f"{p} is not a .keras model file; pass a run directory or a .keras file.")
    return p


def read_run_config(path) -> dict:
    """``config.json`` of the run that ``path`` (run dir or its model file) belongs to, the shipped
    manifest's config of a shipped name, or {}."""
    return Run.open(path).config


@dataclass
class Run:
    """What a command was given as its model: a run directory, a ``.keras`` file or a shipped name.

    It owns the single rule for "the data of this run": ``Run.open(path).data(...)``. eval,
    explain, attack, ensemble, features and transfer all go through it.
    """

    source: str
    config: dict  # config.json ({} for a bare .keras file); a shipped model's is in the manifest
    _model_file: Path | None = field(default=None, repr=False, compare=False)  # resolved once, when first asked

    @classmethod
    def open(cls, path) -> "Run":
        """Open ``path`` once (a ``Run`` is returned as it is): its config now, its model file when asked."""
        if isinstance(path, Run):
            return path
        p = Path(path)
        if not p.exists() and p.name == str(path):
            shipped = shipped_model(str(path))  # checks the file's sha256: done once per Run
            if shipped is not None:
                return cls(str(path), dict(shipped[1].get("config", {})), shipped[0])
        return cls(str(path), RunDir(p if p.is_dir() else p.parent).read_config() or {})

    @property
    def model_file(self) -> Path:
        if self._model_file is None:
            self._model_file = resolve_model_file(self.source)
        return self._model_file

    @property
    def dataset(self) -> str | None:
        return self.config.get("dataset")

    @property
    def spec(self):
        """The registry's record of the model this run trained (``zoo.registry.ModelSpec``), or None
        (a bare .keras file, an ensemble, a model no longer in the registry)."""
        name = self.config.get("model")
        if not name:
            return None
        from zoo.registry import MODELS

        try:
            return MODELS.get(name)
        except ZooError:
            return None

    @property
    def decisions(self) -> dict:
        """What the run decided by itself (precision, strategy, transfer mode ...), not what was asked."""
        return dict(self.config.get("decisions", {}))

    def data_options(self, dataset: str | None = None, data_dir=None) -> tuple[str, dict]:
        """(dataset, ``load_dataset`` keywords): the run's own data unless another ``dataset`` is asked.

        The run's dataset (else Fashion-MNIST); on that dataset also its ``data_dir`` (unless one is
        given), ``val_split`` and ``seed``, so ``--split val`` is the split the run held out, not
        images it trained on. On another dataset, only what was given.
        """
        spec = dataset or self.dataset or "fashion_mnist"
        own = bool(self.config) and spec == self.dataset
        options = {}
        if data_dir is not None:
            options["data_dir"] = str(data_dir)
        elif own and self.config.get("data_dir"):
            options["data_dir"] = self.config["data_dir"]
        if own and self.config.get("val_split") is not None:
            options["val_fraction"] = float(self.config["val_split"])
        split_seed = self.config.get("split_seed") if own else None
        if split_seed is None and own:
            split_seed = self.config.get("seed")
        if split_seed is not None:  # the carve the run trained with: --split-seed, else --seed
            options["seed"] = int(split_seed)
        return spec, options

    def data(self, dataset: str | None = None, *, data_dir=None, limit=None, num_classes: int | None = None,
             seed: int | None = None, download: bool = False):
        """The ``Dataset`` to evaluate (explain, attack ...) this run on; ``num_classes`` is checked.

        ``seed`` carves the validation split when the run does not say (a bare ``.keras`` file).
        """
        from zoo.data import load_dataset

        spec, options = self.data_options(dataset, data_dir)
        if seed is not None:
            options.setdefault("seed", int(seed))
        data = load_dataset(spec, limit=limit, download=download, **options)
        if num_classes is not None and data.num_classes != int(num_classes):
            raise ModelFileError(
                f"{self.source} predicts {num_classes} classes but {spec} has {data.num_classes}; "
                "pass the --dataset the model was trained on.")
        return data

    def load_model(self, *, as_trained: bool = False):
        """The model (not compiled); see ``load_model``."""
        return load_model(self.model_file, as_trained=as_trained)

    def load_classifier(self):
        """(model, class_names) for a model with one (batch, classes) logits output.

        Class names come from the run's ``config.json`` when there is one, else "0".."K-1".
        """
        model = self.load_model()
        shape = tuple(model.outputs[0].shape) if len(model.outputs) == 1 else None
        if shape is None or len(shape) != 2 or not shape[1]:
            raise ModelFileError(
                f"{self.source} is not a classifier: expected one output of shape (batch, classes), "
                f"got {[tuple(o.shape) for o in model.outputs]}."
            )
        in_shape = tuple(model.inputs[0].shape) if len(model.inputs) == 1 else None
        if in_shape is None or len(in_shape) != 4:
            raise ModelFileError(
                f"{self.source} is not an image classifier: expected one input of shape (batch, H, W, C), "
                f"got {[tuple(i.shape) for i in model.inputs]}."
            )
        return model, self.class_names(int(shape[1]))

    def class_names(self, k: int, data=None) -> list[str]:
        """The run's class names, else the data's (a bare .keras file), else "0".."K-1"."""
        names = self.config.get("class_names")
        if names and len(names) == k:
            return list(names)
        if data is not None and len(data.class_names) == k:
            return list(data.class_names)
        return [str(i) for i in range(k)]


def load_model(path, *, as_trained: bool = False):
    """Load a Keras model (not compiled) from a run directory or ``.keras`` file.

    A model trained in mixed precision comes back computing in float32 (same weights; see
    zoo/precision.py), so exports, saliency maps, attacks and features are those of the model,
    not of bf16 rounding; ``as_trained=True`` keeps the precision it was saved with.
    """
    import keras

    import zoo.layers  # noqa: F401  (MatchInput/EnsembleVote, in ensembles and transfers)
    import zoo.models  # noqa: F401  (registers the zoo's custom layers before deserialising)

    f = resolve_model_file(path)
    try:
        model = keras.saving.load_model(f, compile=False)
    except Exception as exc:  # keras raises many types for a bad zip, bad config, ...
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFileError(
            f"Could not load {f}: {reason}. The file is corrupt or not a Keras 3 model; "
            "re-run `zoo train` or pass another file."
        ) from None
    if as_trained:
        return model
    from zoo.precision import float32_copy

    return float32_copy(model)


def load_pretrained(name: str, input_shape=None, num_classes=None):
    """The shipped trained model ``name`` as a plain (uncompiled) ``keras.Model``."""
    shipped = shipped_model(name)
    if shipped is None:
        raise UnknownNameError(
            f"No trained weights ship for {name!r}." + close_matches_hint(str(name), pretrained_names()) +
            " `zoo weights` lists them; create_model(name) without pretrained=True builds a fresh model.")
    f, entry = shipped
    cfg = entry.get("config", {})
    if input_shape is not None and tuple(input_shape) != tuple(cfg.get("input_shape") or ()):
        raise InvalidArgumentError(
            f"The shipped {name} takes {tuple(cfg.get('input_shape'))} inputs; got input_shape={tuple(input_shape)}. "
            f"For other inputs, fine-tune it: zoo train {name} --from {name} --input-shape H,W,C.")
    if num_classes is not None and num_classes != cfg.get("num_classes"):
        raise InvalidArgumentError(
            f"The shipped {name} predicts {cfg.get('num_classes')} classes; got num_classes={num_classes}. "
            f"For other classes, fine-tune it: zoo train {name} --from {name} --dataset YOURS.")
    return load_model(f)


def load_classifier(path):
    """(model, class_names) of the classifier at ``path``: ``Run.open(path).load_classifier()``."""
    return Run.open(path).load_classifier()

