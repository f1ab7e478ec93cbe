"""Builds the notebook fixtures of the habits students have (issue 10): the book's own PyTorch
cells of a section, then answer cells, with one habit each.

    .venv/bin/python -m tests.notebook_fixtures      # rewrites tests/submissions/*/nb_*.ipynb

The book's cells are in ``tests/data/d2l_builders_guide_pytorch.json`` (taken from
d2l-ai/d2l-en, see its ``source``); the answers are the reference solutions' code cells.
Expected scores and notes are in each folder's ``expected.json``.
"""

from __future__ import annotations

import json

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.course.notebooks import py_to_notebook
from tests.conftest import ROOT, SUBMISSIONS

BOOK = json.loads((ROOT / "tests" / "data" / "d2l_builders_guide_pytorch.json").read_text(encoding="utf-8"))
HEADER = ("%matplotlib inline\nimport torch\nfrom d2l import torch as d2l\nfrom torch import nn\n"
          "import torch.nn.functional as F")


def book(section: str, skip: int = 1) -> list[str]:
    """The section's PyTorch cells, without its import cell (the fixtures bring their own)."""
    return BOOK["sections"][section][skip:]


def answers(exercise: str) -> dict[str, str]:
    """The reference solution's code cells, by the class or function each defines."""
    cells = py_to_notebook((ROOT / "solutions" / f"{exercise}.py").read_text(encoding="utf-8")).cells
    found = {}
    for cell in cells:
        if cell.cell_type == "code" and not cell.source.startswith(("import", "from")):
            name = cell.source.split("\n")[0].split()[1].split("(")[0].split(":")[0]
            found[name] = cell.source
    return found


def write(exercise: str, name: str, cells: list[str], title: str) -> None:
    notebook = new_notebook()
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [new_markdown_cell(f"# {title}")]
    for index, source in enumerate(cells):
        cell = new_markdown_cell(source[3:]) if source.startswith("md:") else new_code_cell(source)
        cell.id = f"cell-{index}"
        notebook.cells.append(cell)
    notebook.cells[0].id = "title"
    (SUBMISSIONS / exercise / f"{name}.ipynb").write_text(nbformat.writes(notebook) + "\n", encoding="utf-8")


EX3 = answers("exercise3")
BUGGY_MYLINEAR = BOOK["sections"]["custom-layer"][5]  # the book's MyLinear, which reads .data


def exercise3() -> None:
    # Cell numbers (markdown included) are what the notes name: the title is cell 1.
    write("exercise3", "nb_d2l_header", [
        HEADER, *book("custom-layer")[:4], "md:## My answers",
        EX3["MyLinear"], EX3["TensorReduction"], EX3["FourierHalf"],
    ], "The d2l header and the book's cells (no d2l installed), then the answers")
    write(
        "exercise3",
        "nb_help_and_magics",
        [
            "%matplotlib inline\nimport torch\nfrom torch import nn\nfrom torch.nn import functional as F",
            "torch.fft.fft?\nnn.Module??\nx = torch.arange(4)\n!nvidia-smi",
            "%%time\n" + EX3["CenteredLayer"],
            "%%capture\n!pip install d2l==1.0.3\n" + EX3["MyLinear"],
            "files = !ls\nfor name in files:\n    !echo {name}\nif True:\n    %time y = x + 1\n%pip install torch",  # noqa: E501
            "%%bash\necho not python at all\nexit 1",
            "%timeit MyLinear(5, 3)(torch.rand(2, 5))\n" + EX3["TensorReduction"],
            EX3["FourierHalf"] + "\n\nFourierHalf??",
        ],
        "Help, magics and shell escapes in odd places",
    )
    write(
        "exercise3",
        "nb_scratch_raises",
        [
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F",
            EX3["CenteredLayer"],
            EX3["MyLinear"],
            "layer = MyLinear(5, 3)\nlayer(torch.rand(2, 4))  # the wrong width: raises",
            "print(net)",
            EX3["TensorReduction"],
            "def broken(:\n    pass",
            EX3["FourierHalf"],
        ],
        "Scratch cells that raise between the answers",
    )
    write(
        "exercise3",
        "nb_plot_download_long",
        [
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F\nimport matplotlib.pyplot as plt",  # noqa: E501
            EX3["CenteredLayer"],
            "x = torch.linspace(-3, 3, 50)\nplt.plot(x, torch.relu(x))\nplt.title('relu')\nplt.show()",
            "import urllib.request\nurllib.request.urlretrieve('http://d2l-data.s3-accelerate.amazonaws.com/kaggle_house_pred_train.csv', 'train.csv')",  # noqa: E501
            "import torchvision\ndata = torchvision.datasets.FashionMNIST(root='../data', train=True, download=True)",  # noqa: E501
            EX3["MyLinear"],
            "net = nn.Sequential(MyLinear(64, 8), MyLinear(8, 1))\ntrainer = torch.optim.SGD(net.parameters(), lr=0.01)\n"  # noqa: E501
            "for epoch in range(10**9):\n    loss = net(torch.rand(32, 64)).sum()\n    trainer.zero_grad()\n"
            "    loss.backward()\n    trainer.step()",
            EX3["TensorReduction"],
            EX3["FourierHalf"],
        ],
        "A plot, a download and a training loop that runs far too long",
    )
    write(
        "exercise3",
        "nb_redefined_later",
        [
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F",
            "class CenteredLayer(nn.Module):\n    def forward(self, X):\n        return X - X.sum()",
            BUGGY_MYLINEAR,
            "linear = MyLinear(5, 3)\nlinear(torch.rand(2, 5))",
            "md:Fixed: the mean, and no .data",
            EX3["CenteredLayer"],
            EX3["MyLinear"],
            EX3["TensorReduction"],
            EX3["FourierHalf"],
        ],
        "Wrong classes first, redefined later",
    )
    write(
        "exercise3",
        "nb_book_mylinear",
        [
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F",
            *book("custom-layer")[:1],
            *book("custom-layer")[4:],
            EX3["TensorReduction"],
            EX3["FourierHalf"],
        ],
        "The book's MyLinear, with .data, kept as the answer",
    )
    write(
        "exercise3",
        "nb_undefined_after_error",
        [
            HEADER,
            EX3["CenteredLayer"],
            EX3["MyLinear"],
            EX3["TensorReduction"],
            "d2l.use_svg_display()\n\n" + EX3["FourierHalf"],
        ],
        "The cell of an answer raises before defining it",
    )


def exercise1() -> None:
    ex1 = answers("exercise1")
    write(
        "exercise1",
        "nb_book_model_construction",
        [
            "import torch\nfrom torch import nn\nfrom torch.nn import functional as F",
            *book("model-construction"),
            "md:## Answers, as the exercise asks",
            *ex1.values(),
        ],
        "The book's model-construction cells (lazy layers), then the answers",
    )


if __name__ == "__main__":
    exercise3()
    exercise1()
