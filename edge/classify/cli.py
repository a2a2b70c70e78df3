"""Command line of the classifier: `skytrail train classifier ...` and `skytrail eval classify ...`.

`register(parser, name)` fills the `train classifier` parser; `register_eval(parser, name)` the
`eval classify` parser. Training needs the `[train]` extra (tensorflow-cpu, Keras).
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

import numpy as np

from edge.classify.dataset import (
    CLASSES,
    HELDOUT_FIRST_SEED,
    HELDOUT_PARAMS,
    TRAIN_FIRST_SEED,
    TRAIN_PARAMS,
    DataParams,
    build_dataset,
    dataset_recipe,
    load_dataset,
    save_dataset,
)
from edge.classify.runtime import DEFAULT_MODEL

log = logging.getLogger(__name__)


def _dataset(kind: str, first_seed: int, n_nights: int, params: DataParams, cache: Path | None, workers: int):
    """The simulated set, from the cache folder when it holds one made the same way."""
    recipe = dataset_recipe(params, first_seed, n_nights)
    if cache is not None:
        path = cache / f"{kind}.npz"
        if path.is_file():
            data = load_dataset(path)
            if json.loads(str(data.get("recipe", "{}"))) == json.loads(json.dumps(recipe)):
                log.info("dataset=%s cache=%s n=%d", kind, path, len(data["labels"]))
                return data
    data = build_dataset(
        first_seed,
        n_nights,
        params,
        workers=workers,
        night_dir=cache / "nights" if cache is not None else None,
    )
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        save_dataset(data, cache / f"{kind}.npz", params, first_seed, n_nights)
    return data


def _counts(labels: np.ndarray) -> dict[str, int]:
    return {c: int(n) for c, n in zip(CLASSES, np.bincount(labels, minlength=len(CLASSES)), strict=True)}


def run_train(args: argparse.Namespace) -> int:
    """Make the data, train, export int8, evaluate on the held-out set, write the model card."""
    from edge.classify.evaluate import evaluate_classifier
    from edge.classify.train import export_int8, load_labelled_folder, train_model, write_model_card

    out = Path(args.out)
    if args.labelled is not None:
        images, labels = load_labelled_folder(args.labelled)
        data_text = f"{len(labels)} labelled station events from {args.labelled}: {_counts(labels)}"
    else:
        train = _dataset("train", args.seed_base, args.nights, TRAIN_PARAMS, args.cache, args.workers)
        images, labels = train["images"], train["labels"]
        data_text = (
            f"{len(labels)} simulated candidates from {args.nights} 12-s nights (edge.classify.dataset, "
            f"seeds {args.seed_base}..{args.seed_base + args.nights - 1}, TRAIN_PARAMS): {_counts(labels)}"
        )
    if len(labels) == 0:
        raise ValueError("no training candidates")
    model, history = train_model(
        images, labels, depth=args.depth, width=args.width, cam_px=args.cam_px, epochs=args.epochs,
        batch=args.batch, lr=args.lr, seed=args.seed, init=args.init, max_steps=args.max_steps,
    )  # fmt: skip
    rng = np.random.default_rng(args.seed)
    rep = images[rng.permutation(len(images))[: args.representative]]
    export_int8(model, rep, out)
    figures: dict = {}
    if args.heldout_nights > 0:
        held = _dataset(
            "heldout", HELDOUT_FIRST_SEED, args.heldout_nights, HELDOUT_PARAMS, args.cache, args.workers
        )
        figures = evaluate_classifier(held, out, confusion_png=out.with_name(out.stem + "_confusion.png"))
        figures["heldout"] = (
            f"{len(held['labels'])} candidates from {args.heldout_nights} nights, seeds from "
            f"{HELDOUT_FIRST_SEED}, HELDOUT_PARAMS: {_counts(held['labels'])}"
        )
    command = "skytrail train classifier " + " ".join(shlex.quote(a) for a in args.argv)
    training = (
        f"{len(history['loss'])} epochs, batch {args.batch}, Adam lr {args.lr} cosine, dihedral/shift/"
        f"brightness augmentation, {history['train_s']:.0f} s; final loss {history['loss'][-1]:.4f}, "
        f"train accuracy {history['accuracy'][-1]:.4f}"
    )
    depth = args.depth if args.init is None else f"{args.depth} (fine-tuned from {args.init})"
    info = {"depth": depth, "width": args.width, "cam_px": args.cam_px, "data": data_text,
            "training": training, "command": command, "figures": figures}  # fmt: skip
    write_model_card(out, info)
    print(json.dumps({"model": str(out), "history": history, "figures": figures}, indent=2, default=float))
    return 0


def register(parser: argparse.ArgumentParser, name: str) -> None:
    """Arguments of `skytrail train classifier`."""
    p = parser
    p.add_argument(
        "--out", type=Path, default=DEFAULT_MODEL, help="the .tflite to write (default: the shipped one)"
    )
    p.add_argument("--depth", type=int, choices=(18, 34), default=18)
    p.add_argument("--width", type=int, default=16, help="channels of the first stage (default 16)")
    p.add_argument("--cam-px", type=int, choices=(4, 8), default=4,
                   help="size of the last block's map: the Grad-CAM's resolution (default 4)")  # fmt: skip
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--nights", type=int, default=30, help="simulated nights for the training set")
    p.add_argument("--seed-base", type=int, default=TRAIN_FIRST_SEED, help="first night's seed (training)")
    p.add_argument("--heldout-nights", type=int, default=30, help="held-out nights (0: no evaluation)")
    p.add_argument(
        "--cache", type=Path, help="folder to keep/reuse the simulated sets (train.npz, heldout.npz)"
    )
    p.add_argument("--workers", type=int, default=2, help="processes rendering the simulated nights")
    p.add_argument("--representative", type=int, default=300, help="crops calibrating the int8 export")
    p.add_argument("--init", type=Path, help="fine-tune this model (.keras, or the .tflite with its .keras)")
    p.add_argument("--labelled", type=Path, help="train on a folder of labelled events: <class>/*.npz")
    p.add_argument("--max-steps", type=int, help="stop after this many steps (smoke tests)")
    p.set_defaults(func=_with_argv(run_train))


def _with_argv(func):
    def run(args: argparse.Namespace) -> int:
        argv = sys.argv[1:]
        if "classifier" in argv:
            argv = argv[argv.index("classifier") + 1 :]
        args.argv = argv
        return func(args)

    return run


def run_eval(args: argparse.Namespace) -> int:
    from edge.classify.evaluate import evaluate_classifier

    held = _dataset("heldout", HELDOUT_FIRST_SEED, args.nights, HELDOUT_PARAMS, args.cache, args.workers)
    figures = evaluate_classifier(held, args.model, confusion_png=args.confusion_png)
    if args.json:
        print(json.dumps(figures, indent=2, default=float))
    else:
        for key in ("meteor_precision", "meteor_recall", "accuracy", "localisation_error_median_px",
                    "int8_vs_float_agreement", "latency_ms_int8", "latency_ms_float"):  # fmt: skip
            print(f"{key}: {figures[key]}")
    return 0


def register_eval(parser: argparse.ArgumentParser, name: str) -> None:
    """Arguments of `skytrail eval classify`."""
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--nights", type=int, default=30, help="held-out simulated nights")
    parser.add_argument("--cache", type=Path, help="folder to keep/reuse the held-out set (heldout.npz)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--confusion-png", type=Path, default=Path("classify_confusion.png"))
    parser.add_argument("--json", action="store_true", help="print all figures as JSON")
    parser.set_defaults(func=run_eval)
