#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image: it installs
# Python 3.11 if the image lacks it and the grader, pinned by constraints.txt, into a
# virtual environment that run_autograder then uses for every submission.
# (Written by `grade gradescope-autograder`; AUTOGRADER_ROOT moves /autograder, for tests.)
set -euo pipefail

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"
# Gradescope has no GPU, and PyPI's torch is the large CUDA build: take torch from
# PyTorch's CPU index (its 2.13.0+cpu satisfies the pin torch==2.13.0).
TORCH_INDEX="https://download.pytorch.org/whl/cpu"

has_python311() {
    command -v python3.11 >/dev/null && python3.11 -c "import ensurepip, venv" 2>/dev/null
}

install_python311() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # Ubuntu 22.04 carries python3.11 in its own archive; later releases only through
    # the deadsnakes PPA.
    if ! apt-get install -y python3.11 python3.11-venv; then
        apt-get install -y software-properties-common
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update
        apt-get install -y python3.11 python3.11-venv
    fi
}

has_python311 || install_python311

python3.11 -m venv "$VENV"
# A plain (not editable) install: the grader then runs from the environment, so that
# $SOURCE, which holds the hidden checks, can be hidden from the workers that run
# student code.
"$VENV/bin/python" -m pip install --no-cache-dir -c "$SOURCE/constraints.txt" \
    --extra-index-url "$TORCH_INDEX" "$SOURCE"
# Fail here, once, at upload, rather than on every submission.
"$VENV/bin/python" -I -c "import torch, grader.grading.engine; print('torch', torch.__version__)"
