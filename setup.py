"""C extensions; everything else is declared in pyproject.toml."""

from pathlib import Path

from setuptools import Extension, setup

detect_src = sorted(str(p) for p in Path("edge/detect/src").glob("*.c"))

setup(
    ext_modules=[
        Extension(
            "edge.detect._cdetect",
            sources=["edge/detect/_cdetect.c", *detect_src],
            include_dirs=["edge/detect/src"],
            extra_compile_args=["-std=c11", "-O3", "-Wall", "-Wextra"],
        )
    ]
)
