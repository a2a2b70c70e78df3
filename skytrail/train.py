"""`skytrail train ...`: training models (needs the optional `train` extra: tensorflow-cpu)."""

from __future__ import annotations

import argparse


def register(parser: argparse.ArgumentParser, name: str) -> None:
    from edge.classify.cli import register as register_classifier

    commands = parser.add_subparsers(dest="train_command", metavar="MODEL", required=True)
    classifier = commands.add_parser(
        "classifier",
        help="train the int8 ResNet meteor classifier on simulated (or labelled) candidates",
        description="Train the meteor classifier and export it to int8 TFLite with a model card. "
        "Needs `pip install skytrail[train]`; a GPU is used when present, never required.",
    )
    register_classifier(classifier, "classifier")
