"""Training the meteor classifier and exporting it as an int8 TFLite model (the `[train]` extra).

Needs `tensorflow-cpu` 2.21 / Keras 3 (a GPU is used when TensorFlow sees one, never required).
Data come from `edge.classify.dataset` (simulated candidates) or, for fine-tuning with `--init`,
from a folder of a station's own labelled events (`load_labelled_folder`).

The network is a ResNet (18 or 34 layers, basic blocks, configurable width) for the
(64, 64, N_CHANNELS) crops of `edge.classify.preprocess`: a 3x3 stride-1 stem (its activations are the
"first-conv" output, full crop resolution, for locating the meteor), four stages of widths
w, 2w, 4w, 8w each halving the size (to 4x4; with `cam_px=8` the last stage keeps 8x8, so the
Grad-CAM is twice as fine), global average pooling and one dense layer (logits). BatchNorm
momentum is 0.9 (far better than Keras' 0.99 on small synthetic sets).

Export (`export_int8`): `TFLiteConverter.from_keras_model` on a model with three outputs
(logits, last residual block, first conv), int8 weights and activations calibrated on a
representative set, int8 input and outputs. The dense layer's weights go beside it (.npz) for the
closed-form Grad-CAM, with the first-conv channel weights of the meteor-pixel fusion (fitted on the
representative set, `fit_first_conv_weights`), the float model (.keras) for fine-tuning, and a
model card (.md).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from edge.classify.dataset import CLASSES
from edge.classify.preprocess import CROP_PX, N_CHANNELS, crop_from_event
from edge.classify.runtime import Classifier

log = logging.getLogger(__name__)
BN_MOMENTUM = 0.9
BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


def _tf():
    try:
        import keras
        import tensorflow as tf
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "training needs the [train] extra: pip install 'skytrail[train]' (tensorflow-cpu 2.21, Keras 3)"
        ) from exc
    return tf, keras


def build_resnet(depth: int = 18, width: int = 16, n_classes: int = len(CLASSES), cam_px: int = 4,
                 channels: int = N_CHANNELS):  # fmt: skip
    """A Keras ResNet with three outputs: logits, last_block (cam_px x cam_px x 8w) and first_conv
    (64x64xw), for crops of `channels` channels. `cam_px` (4 or 8) is the last block's map size,
    the Grad-CAM's resolution."""
    tf, keras = _tf()
    from keras import layers

    if depth not in BLOCKS:
        raise ValueError(f"depth {depth} not supported (choose {sorted(BLOCKS)})")
    if cam_px not in (4, 8):
        raise ValueError(f"cam_px {cam_px} not supported (choose 4 or 8)")
    if width < 16:
        # TF 2.21's oneDNN kernels corrupt memory (abort) training 8-channel stages on this CPU
        raise ValueError(f"width {width} must be >= 16")

    def conv_bn(x, filters, stride, name, relu=True, kernel=3):
        x = layers.Conv2D(
            filters, kernel, strides=stride, padding="same", use_bias=False, name=name + "_conv"
        )(x)
        x = layers.BatchNormalization(momentum=BN_MOMENTUM, name=name + "_bn")(x)
        return layers.ReLU(name=name + "_relu")(x) if relu else x

    inputs = keras.Input((CROP_PX, CROP_PX, channels), name="crop")
    first = conv_bn(inputs, width, 1, "stem")
    first = layers.Identity(name="first_conv")(first)
    x = first
    for s, n_blocks in enumerate(BLOCKS[depth]):
        filters = width * 2**s
        for b in range(n_blocks):
            stride = 2 if b == 0 and not (s == 3 and cam_px == 8) else 1
            name = f"s{s + 1}b{b + 1}"
            y = conv_bn(x, filters, stride, name + "a")
            y = conv_bn(y, filters, 1, name + "b", relu=False)
            if stride != 1 or x.shape[-1] != filters:
                x = conv_bn(x, filters, stride, name + "p", relu=False, kernel=1)
            x = layers.ReLU(name=name + "_out")(layers.Add(name=name + "_add")([x, y]))
    last = layers.Identity(name="last_block")(x)
    pooled = layers.GlobalAveragePooling2D(name="gap")(last)
    logits = layers.Dense(n_classes, name="logits")(pooled)
    return keras.Model(inputs, [logits, last, first], name=f"resnet{depth}_w{width}_cam{cam_px}")


def _augment_np(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random dihedral transform, shift up to 4 px and brightness scale of a batch of crops."""
    out = np.empty_like(x)
    for i in range(len(x)):
        a = np.rot90(x[i], int(rng.integers(4)))
        if rng.random() < 0.5:
            a = a[:, ::-1]
        a = np.roll(a, tuple(rng.integers(-4, 5, 2)), axis=(0, 1))
        out[i] = a
    out[..., 0] *= rng.uniform(0.85, 1.15, (len(x), 1, 1)).astype(np.float32)
    return out


def train_model(
    images: np.ndarray,
    labels: np.ndarray,
    *,
    depth: int = 18,
    width: int = 16,
    cam_px: int = 4,
    epochs: int = 10,
    batch: int = 64,
    lr: float = 2e-3,
    seed: int = 0,
    init: str | Path | None = None,
    max_steps: int | None = None,
):
    """Train (or fine-tune from the .keras model `init`) and return (keras model, history dict)."""
    tf, keras = _tf()
    keras.utils.set_random_seed(seed)
    if init is not None:
        model = _with_input_channels(keras.models.load_model(_keras_path(init), compile=False))
    else:
        model = build_resnet(depth, width, cam_px=cam_px)
    trainer = keras.Model(model.input, model.outputs[0])
    counts = np.bincount(labels, minlength=len(CLASSES)).astype(float)
    weights = np.where(counts > 0, np.sqrt(counts.sum() / np.maximum(counts, 1) / len(CLASSES)), 0.0)
    weights[0] *= 1.5  # meteors matter most
    steps_per_epoch = max(1, len(images) // batch)
    total = steps_per_epoch * epochs if max_steps is None else max_steps
    schedule = keras.optimizers.schedules.CosineDecay(lr, max(1, total))
    trainer.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    rng = np.random.default_rng(seed)
    history: dict[str, list] = {"loss": [], "accuracy": []}
    step = 0
    t0 = time.time()
    for epoch in range(epochs):
        order = rng.permutation(len(images))
        losses, accs = [], []
        for s in range(steps_per_epoch):
            idx = order[s * batch : (s + 1) * batch]
            xb = _augment_np(images[idx], rng)
            yb = labels[idx]
            out = trainer.train_on_batch(xb, yb, sample_weight=weights[yb], return_dict=True)
            losses.append(float(out["loss"]))
            accs.append(float(out["accuracy"]))
            step += 1
            if max_steps is not None and step >= max_steps:
                break
        history["loss"].append(float(np.mean(losses)))
        history["accuracy"].append(float(np.mean(accs)))
        log.info(
            "epoch=%d loss=%.4f acc=%.4f elapsed_s=%.0f", epoch + 1, losses[-1], accs[-1], time.time() - t0
        )
        if max_steps is not None and step >= max_steps:
            break
    history["train_s"] = time.time() - t0
    return model, history


def _with_input_channels(model):
    """`model` itself, or, when it was made for crops with fewer channels (an earlier version of
    `edge.classify.preprocess`), the same network for today's crops: every weight copied, the stem's
    kernel given zero weights for the new channels (so it starts as the old model and learns them)."""
    n_in = int(model.input.shape[-1])
    if n_in == N_CHANNELS:
        return model
    if n_in > N_CHANNELS:
        raise ValueError(f"the model takes {n_in} input channels, the crops have {N_CHANNELS}")
    names = [layer.name for layer in model.layers]
    depth = next(d for d, blocks in BLOCKS.items()
                 if all(f"s{s + 1}b{n}a_conv" in names for s, n in enumerate(blocks))
                 and f"s1b{BLOCKS[d][0] + 1}a_conv" not in names)  # fmt: skip
    width = int(model.get_layer("stem_conv").filters)
    cam_px = int(model.get_layer("last_block").output.shape[1])
    new = build_resnet(depth, width, cam_px=cam_px)
    for layer in new.layers:
        weights = model.get_layer(layer.name).get_weights()
        if layer.name == "stem_conv":
            (kernel,) = weights
            pad = np.zeros(kernel.shape[:2] + (N_CHANNELS - n_in, kernel.shape[3]), kernel.dtype)
            weights = [np.concatenate([kernel, pad], axis=2)]
        layer.set_weights(weights)
    log.info("init widened input_channels=%d->%d depth=%d width=%d", n_in, N_CHANNELS, depth, width)
    return new


def _keras_path(path: str | Path) -> Path:
    p = Path(path)
    return p if p.suffix == ".keras" else p.with_suffix(".keras")


def export_int8(model, representative: np.ndarray, out_path: str | Path) -> Path:
    """Convert a three-output Keras model to a pure int8 .tflite, calibrated on `representative` crops.

    Writes beside it: `<name>.npz` (dense weights `dense_w` (K, C), `dense_b` (C,), `classes`),
    `<name>.keras` (the float model, for `--init`). Returns the .tflite path."""
    tf, keras = _tf()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    rep = np.asarray(representative, np.float32)

    def gen():
        for i in range(len(rep)):
            yield [rep[i : i + 1]]

    converter.representative_dataset = gen
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    out_path.write_bytes(converter.convert())
    w, b = model.get_layer("logits").get_weights()
    np.savez(out_path.with_suffix(".npz"), dense_w=w.astype(np.float32), dense_b=b.astype(np.float32),
             classes=np.asarray(CLASSES))  # fmt: skip
    add_first_conv_weights(out_path, rep)
    model.save(out_path.with_suffix(".keras"))
    return out_path


def fit_first_conv_weights(model_path: str | Path, crops: np.ndarray, pixels_per_crop: int = 400,
                           seed: int = 0) -> np.ndarray:  # fmt: skip
    """Channel weights (k,) for the runtime's first-conv energy: the non-negative least-squares fit of
    the crops' brightness channel by the int8 model's first-conv excess (`runtime.first_conv_excess`),
    on `pixels_per_crop` random pixels of each crop. Needs no TensorFlow."""
    from scipy.optimize import nnls

    from edge.classify.runtime import first_conv_excess

    clf = Classifier(model_path)
    if not clf.ok:
        raise ValueError(f"{model_path}: {clf.status}")
    rng = np.random.default_rng(seed)
    rows, target = [], []
    for image in np.asarray(crops, np.float32):
        e = first_conv_excess(clf.run(image)["first_conv"])
        e = e.reshape(-1, e.shape[-1])
        pick = rng.choice(e.shape[0], min(pixels_per_crop, e.shape[0]), replace=False)
        rows.append(e[pick])
        target.append(image[..., 0].reshape(-1)[pick])
    w, _residual = nnls(np.concatenate(rows).astype(np.float64), np.concatenate(target).astype(np.float64))
    if not w.any():
        raise ValueError("first-conv channel fit gave all-zero weights (crops without signal?)")
    return (w / w.sum()).astype(np.float32)


def add_first_conv_weights(model_path: str | Path, crops: np.ndarray) -> np.ndarray:
    """Fit the first-conv channel weights on `crops` and store them (`first_conv_w`) in the model's
    .npz beside the other arrays. Returns them."""
    npz = Path(model_path).with_suffix(".npz")
    with np.load(npz) as f:
        arrays = {k: f[k] for k in f.files if k != "first_conv_w"}
    np.savez(npz, **arrays)  # fit without the old weights (the fit reads the first conv, not the fusion)
    w = fit_first_conv_weights(model_path, crops)
    np.savez(npz, **arrays, first_conv_w=w)
    return w


def file_sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_model_card(model_path: str | Path, info: dict) -> Path:
    """The model card (markdown) beside the model: data, classes, training, figures, command."""
    model_path = Path(model_path)
    card = model_path.with_suffix(".md")
    figures = info.get("figures", {})
    lines = [
        f"# Model card: {model_path.name}",
        "",
        "Meteor classifier for Skytrail stations (int8 TFLite, `edge.classify.runtime`).",
        "",
        f"- Architecture: ResNet-{info.get('depth')} (basic blocks), width {info.get('width')}, "
        f"last block {info.get('cam_px', 4)}x{info.get('cam_px', 4)} (Grad-CAM resolution), "
        f"input {CROP_PX}x{CROP_PX}x{N_CHANNELS} (`edge.classify.preprocess`), outputs logits, "
        "last residual block, first conv.",
        f"- Classes: {', '.join(CLASSES)}.",
        f"- sha256 of the .tflite: `{file_sha256(model_path)}`; size {model_path.stat().st_size} bytes.",
        f"- Training data: {info.get('data')}",
        f"- Training: {info.get('training')}",
        f"- Reproduce: `{info.get('command')}`",
        "",
        "## Figures on the held-out set",
        "",
        "```json",
        json.dumps(figures, indent=2, default=float),
        "```",
        "",
        "Limitations: trained on simulated candidates only (no real labelled meteor set was "
        "available); adapt to a station's sky with `--init` on its own labelled events.",
        "",
    ]
    card.write_text("\n".join(lines))
    return card


def load_labelled_folder(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A station's own labelled events for fine-tuning: `folder/<class>/*.npz`, each .npz holding the
    event's `max_pixel`, `max_frame`, `mean`, `std`, `x_px`, `y_px`, `t_unix` (as `edge.detect` gives
    them) and the camera's plate scale `deg_per_px`.

    Returns (crops (n, 64, 64, N_CHANNELS) float32, labels (n,)). Unknown class folders raise ValueError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"labelled folder {folder} does not exist")
    images, labels = [], []
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        if sub.name not in CLASSES:
            raise ValueError(f"folder {sub} is not a class name (one of {', '.join(CLASSES)})")
        for f in sorted(sub.glob("*.npz")):
            with np.load(f) as ev:

                class _E:
                    pass

                e = _E()
                for key in ("max_pixel", "max_frame", "mean", "std", "x_px", "y_px", "t_unix", "deg_per_px"):
                    if key not in ev.files:
                        raise ValueError(f"{f}: missing array {key!r}")
                    setattr(e, key, ev[key])
            images.append(crop_from_event(e, float(e.deg_per_px)).image)
            labels.append(CLASSES.index(sub.name))
    if not images:
        raise ValueError(f"no labelled events (<class>/*.npz) found under {folder}")
    return np.stack(images), np.asarray(labels, np.int64)
