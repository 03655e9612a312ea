"""Real colour pictures that work offline: the Noto Color Emoji font drawn as an image set.

Debian's package ``fonts-noto-color-emoji`` (2.042 in Debian 12) installs
``NotoColorEmoji.ttf``, Google's emoji artwork as 3,968 colour bitmaps of 136x128 pixels
(https://github.com/googlefonts/noto-emoji; the font is under the SIL Open Font License 1.1,
which allows this use and redistribution of pictures made with it). :func:`emoji` draws them
with Pillow on a plain background and returns ``(N, 3, size, size)`` float32 in [-1, 1], like
every image set of the package: the real colour set of chapter 2's 64x64 DCGAN.

* ``singles_only=True``: the 1,381 emoji that are one code point each (faces, people, animals,
  plants, food, places, objects, symbols), in code-point order;
* ``singles_only=False``: then the 2,501 sequences that the font joins into one picture (flags,
  skin tones, families, keycaps), 3,882 pictures in all (sequences need Pillow with libraqm).

Elsewhere (Colab: ``!apt-get install -y fonts-noto-color-emoji``) the same font gives the
same pictures; any other folder of pictures loads with :func:`gan_tutorial.data.image_folder`.
"""

from __future__ import annotations

import functools
import hashlib
import os
import unicodedata
import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import DataError

FONT_PATHS = (Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),)  # Debian, Ubuntu, Colab
INSTALL_HINT = ("install it with `apt-get install fonts-noto-color-emoji` (Debian/Ubuntu; on Colab run "
                "`!apt-get install -y fonts-noto-color-emoji` in a cell), or pass font=PATH to a NotoColorEmoji.ttf, "
                "or train on any folder of pictures with data.image_folder(PATH) (CLI: --data folder:PATH).")
BITMAP_SIZE = 109  # the font's one bitmap strike: Pillow opens it at this size only
CELL = (136, 128)  # (width, height) of every bitmap
RENDER_VERSION = 1  # part of the cache key: raise it when the drawing below changes

# Code points of the font that are not a picture on their own.
NOT_SINGLE = ((0x0000, 0x007F),  # ASCII: controls, space, and #, *, 0-9 (keycap bases, drawn as grey text)
              (0x200D, 0x200D),  # zero width joiner
              (0x20E3, 0x20E3),  # combining enclosing keycap
              (0x1F1E6, 0x1F1FF),  # regional indicators, the halves of flags
              (0x1F3FB, 0x1F3FF),  # skin-tone modifiers
              (0xE0000, 0xE007F),  # tags (flags of England, Scotland, Wales)
              (0xF0000, 0x10FFFF))  # private use: the font's internal pictures


def find_font(font: str | Path | None = None) -> Path:
    """The path of the emoji font: ``font`` if given, else the first of :data:`FONT_PATHS` that exists."""
    if font is not None:
        path = Path(font).expanduser()
        if not path.is_file():
            raise DataError(f"the emoji font {str(path)!r} does not exist: pass the path of NotoColorEmoji.ttf, "
                            f"or leave font=None to use the installed one; to get it, {INSTALL_HINT}")
        return path
    for path in FONT_PATHS:
        if path.is_file():
            return path
    raise DataError(f"the Noto Color Emoji font is not installed ({FONT_PATHS[0]} is missing): {INSTALL_HINT}")


@functools.lru_cache(maxsize=4)
def _glyphs(path: str, singles_only: bool) -> tuple[str, ...]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as tt:
        cmap = tt.getBestCmap()  # code point -> glyph name
        singles = [chr(c) for c in sorted(cmap) if not any(lo <= c <= hi for lo, hi in NOT_SINGLE)]
        if singles_only:
            return tuple(singles)
        by_name = {name: chr(c) for c, name in cmap.items()}
        ligatures = [("".join(by_name[g] for g in (first, *lig.Component)), lig.LigGlyph)  # (text, picture)
                     for lookup in tt["GSUB"].table.LookupList.Lookup for sub in lookup.SubTable
                     for first, ligs in getattr(sub, "ligatures", {}).items() for lig in ligs]
    text_of = {cmap[ord(s)]: s for s in singles}
    for text, glyph in sorted(ligatures, key=lambda t: (len(t[0]), t[0])):
        text_of.setdefault(glyph, text)  # a picture that several sequences give is drawn once, from the shortest
    return tuple(singles + sorted(set(text_of.values()) - set(singles)))


def emoji_glyphs(font: str | Path | None = None, singles_only: bool = True) -> list[str]:
    """The text of each picture of :func:`emoji`, in the same order (one character, or a sequence)."""
    return list(_glyphs(str(find_font(font)), singles_only))


def emoji_names(font: str | Path | None = None, singles_only: bool = True, limit: int | None = None) -> list[str]:
    """What each picture of :func:`emoji` shows, in the same order, e.g. ``'U+1F600 GRINNING FACE'``.

    Names come from this Python's ``unicodedata`` (Unicode 14.0 in Python 3.11); emoji newer
    than that (20 of the 1,381 single ones there) are named by their code points only.
    """
    def name(text: str) -> str:
        points = " ".join(f"U+{ord(c):04X}" for c in text)
        names = [unicodedata.name(c, "") for c in text]
        unknown = f"(newer than Unicode {unicodedata.unidata_version})"
        return f"{points} {', '.join(names) if all(names) else unknown}"

    return [name(text) for text in emoji_glyphs(font, singles_only)[:limit]]


def render(glyphs: list[str], font: str | Path, size: int, background: tuple[int, int, int]) -> torch.Tensor:
    """Draw ``glyphs`` as ``(N, 3, size, size)`` uint8: each 136x128 bitmap at its native size.

    Each bitmap is drawn onto a 136x136 canvas of the plain ``background`` colour (Pillow
    composites it by its alpha channel), 4 rows of background above and below make it square,
    and the square is resized to ``size`` with Lanczos filtering.
    """
    from PIL import Image, ImageDraw, ImageFont, features

    sequences = any(len(text) > 1 for text in glyphs)
    if sequences and not features.check("raqm"):
        raise DataError("drawing emoji sequences (singles_only=False) needs Pillow built with libraqm, which this "
                        "Pillow lacks: install Pillow's wheel from PyPI (pip install --force-reinstall pillow), "
                        "or use singles_only=True.")
    layout = ImageFont.Layout.RAQM if sequences else ImageFont.Layout.BASIC
    face = ImageFont.truetype(str(font), BITMAP_SIZE, layout_engine=layout)
    side = max(CELL)
    out = np.empty((len(glyphs), size, size, 3), np.uint8)
    for i, text in enumerate(glyphs):
        canvas = Image.new("RGB", (side, side), tuple(background))
        ImageDraw.Draw(canvas).text((0, (side - CELL[1]) // 2), text, font=face, embedded_color=True)
        out[i] = np.asarray(canvas.resize((size, size), Image.LANCZOS))
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()  # (N, 3, size, size)


def emoji(size: int = 64, root: str | Path = "data", limit: int | None = None, font: str | Path | None = None,
          background: tuple[int, int, int] = (255, 255, 255), singles_only: bool = True) -> torch.Tensor:
    """The emoji of the Noto Color Emoji font as ``(N, 3, size, size)`` float32 in [-1, 1].

    N is 1,381 (``singles_only=True``) or 3,882 (``False``), or the first ``limit`` of them;
    :func:`emoji_names` says what each one is. Pixels ``v`` in 0..255 become ``v / 127.5 - 1``.
    The pictures are kept in ``root`` as one uint8 tensor file (``emoji-64px.pt`` for the
    defaults, about 17 MB), written atomically and drawn again whenever the font file (its
    SHA-256), the size, the background, Pillow's version or this drawing code changes; drawing
    them all takes a few seconds, reading the file a fraction of one.
    """
    if not isinstance(size, int) or size < 1:
        raise DataError(f"size must be a positive integer (the side of the square pictures), got {size!r}.")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit must be a positive integer or None (all pictures), got {limit!r}.")
    background = tuple(int(v) for v in background)
    if len(background) != 3 or not all(0 <= v <= 255 for v in background):
        raise DataError(f"background must be an RGB colour of three values in 0..255, got {background!r}.")
    path = find_font(font)
    glyphs = list(_glyphs(str(path), singles_only)[:limit])
    key = (f"v{RENDER_VERSION} font-sha256 {hashlib.sha256(path.read_bytes()).hexdigest()} size {size} "
           f"background {background} glyphs {len(glyphs)} singles {singles_only} pillow {_pillow_version()}")
    suffix = ("" if singles_only else "-all") + ("" if background == (255, 255, 255) else
                                                 "-bg{:02x}{:02x}{:02x}".format(*background))
    cache = Path(root) / f"emoji-{size}px{suffix}{f'-first{limit}' if limit else ''}.pt"
    x = _read_cache(cache, key)
    if x is None:
        x = render(glyphs, path, size, background)
        _write_cache(cache, key, x)
    return x.float() / 127.5 - 1


def emoji_split(x: torch.Tensor, held_out: float = 0.1, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``(training, held_out)`` pictures: a share ``held_out`` of ``x`` drawn by a seeded permutation.

    For 1,381 single emoji: 1,243 training and 138 held-out pictures; the held-out ones are
    used only to score generators (:func:`gan_tutorial.evaluation.colour_metric.colour_protocol`).
    """
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = round(held_out * len(x))
    return x[perm[n_test:].sort().values], x[perm[:n_test].sort().values]


def _pillow_version() -> str:
    import PIL

    return PIL.__version__


def _read_cache(file: Path, key: str) -> torch.Tensor | None:
    try:
        stored = torch.load(file, weights_only=True)
        return stored["x"] if stored.get("key") == key else None
    except Exception:  # missing, stale or broken: draw again
        return None


def _write_cache(file: Path, key: str, x: torch.Tensor) -> None:
    tmp = file.with_name(f"{file.name}.tmp{os.getpid()}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"key": key, "x": x}, tmp)
        os.replace(tmp, file)  # atomic: a reader never sees half a file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        warnings.warn(f"emoji: cannot write the cache {file} ({exc.strerror}); the pictures will be drawn again "
                      "next time (pass another root=).", stacklevel=3)
