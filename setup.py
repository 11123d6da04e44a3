"""Build configuration beyond pyproject.toml: the optional C helpers of the scan.

`gator_setup.analysis._speedups` is built where a C compiler is found; where none is (or the build
fails), `optional=True` lets the install go on without it and gator uses the pure-Python versions
of the same loops (gator_setup/analysis/speedups.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "gator_setup.analysis._speedups",
            ["gator_setup/analysis/_speedups.c"],
            optional=True,
        )
    ]
)
