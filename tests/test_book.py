"""The book's structure: every chapter in the table of contents starts with the set-up cell."""

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _chapters():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [ROOT / f"{f}.ipynb" for f in files if (ROOT / f"{f}.ipynb").exists()]


def test_all_six_chapters_are_notebooks():
    assert [p.stem for p in _chapters()][:6] == ["01_minimax", "02_dcgan", "03_wgan_div",
                                                 "04_sphere_gan", "05_o_gan", "06_mode_collapse"]


def test_each_chapter_starts_with_the_setup_cell_and_the_configured_url():
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    for nb_path in _chapters():
        cells = json.loads(nb_path.read_text())["cells"]
        first = next(c for c in cells if c["cell_type"] == "code")
        src = "".join(first["source"])
        assert '"google.colab" in sys.modules' in src, nb_path.name
        assert re.search(r"pip install -q \"gan-tutorial @ git\+(\S+)\"", src).group(1) == url, nb_path.name
        assert "notebook.setup(" in src, nb_path.name
