"""MNIST and CIFAR-10, returned exactly as ``keras.datasets`` returns them, from wherever they are.

``load_mnist()`` and ``load_cifar10()`` look for the data in this order and use the first that has it:

1. the ``path`` argument: a data file or a folder holding one;
2. the folder named by the environment variable ``CNN_COURSE_DATA``;
3. offline copies in ``shared/data`` beside the project folder (``../shared/data``);
4. Keras' cache (``$KERAS_HOME/datasets``, by default ``~/.keras/datasets``);
5. Keras' own download (needs the internet; skipped with ``download=False``).

Files recognised in a folder: MNIST as Keras' ``mnist.npz``; CIFAR-10 as ``cifar10_jpeg.npz``
(JPEG bytes, see the offline copy's README), ``cifar10.npz`` (arrays x_train, y_train, x_test,
y_test) or Keras' extracted ``cifar-10-batches-py`` folder.

``n_train`` and ``n_test`` ask for a deterministic, class-balanced subset (the same images every
time), which is what the notebooks' fast mode uses; only those images are decoded. A data file
is read once per process: loading again costs only the copy that each call returns.
"""

import functools
import io
import os
import pickle
from pathlib import Path

import numpy as np

DATA_VARIABLE = "CNN_COURSE_DATA"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
OFFLINE_DIR = PROJECT_ROOT.parent / "shared" / "data"

MNIST_FILES = ("mnist.npz",)
CIFAR10_FILES = ("cifar10_jpeg.npz", "cifar10.npz", "cifar-10-batches-py")
DATASET_FILES = {"mnist": MNIST_FILES, "cifar10": CIFAR10_FILES}
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")


def load_mnist(path=None, n_train=None, n_test=None, download=True):
    """Load MNIST digits.

    Args:
        path: optional file or folder to read first (see the module docstring for the search order).
        n_train, n_test: optional sizes of a deterministic, class-balanced subset of each split.
        download: whether Keras may download the data when no local copy is found.

    Returns:
        ((x_train, y_train), (x_test, y_test)): uint8 images (N, 28, 28) with values 0..255 and
        uint8 labels (N,) in 0..9; N is 60,000 and 10,000, or n_train and n_test.

    Raises:
        FileNotFoundError: naming every place searched and how to provide the files.
    """
    source = _find("MNIST", MNIST_FILES, path)
    if source is None:
        return _subsets(_download("mnist", download), n_train, n_test)
    f = _read_npz(source)
    return _subsets(((f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])), n_train, n_test)


def load_cifar10(path=None, n_train=None, n_test=None, download=True):
    """Load CIFAR-10 colour images.

    Args:
        path: optional file or folder to read first (see the module docstring for the search order).
        n_train, n_test: optional sizes of a deterministic, class-balanced subset of each split.
        download: whether Keras may download the data when no local copy is found.

    Returns:
        ((x_train, y_train), (x_test, y_test)): uint8 images (N, 32, 32, 3) and uint8 labels
        (N, 1) in 0..9 (names in ``CIFAR10_CLASSES``); N is 50,000 and 10,000, or n_train and n_test.

    Raises:
        FileNotFoundError: naming every place searched and how to provide the files.
    """
    source = _find("CIFAR-10", CIFAR10_FILES, path)
    if source is None:
        return _subsets(_download("cifar10", download), n_train, n_test)
    if source.name == "cifar10_jpeg.npz":
        return _load_cifar10_jpeg(source, n_train, n_test)
    if source.is_dir():
        return _subsets(_load_cifar10_batches(source), n_train, n_test)
    f = _read_npz(source)
    splits = ((f["x_train"], f["y_train"].reshape(-1, 1)), (f["x_test"], f["y_test"].reshape(-1, 1)))
    return _subsets(splits, n_train, n_test)


# --------------------------------------------------------------------------- subsets and scaling


def balanced_subset_indices(labels, n, seed=0):
    """Indices of a deterministic subset of ``n`` examples with classes as even as possible.

    Classes take turns (in a fixed shuffled order within each class), so the subset of n is a
    prefix of the subset of n + 1 and its classes differ in count by at most one while they last.

    Args:
        labels: (N,) or (N, 1) integer labels.
        n: subset size, 1 <= n <= N.
        seed: the shuffle's seed.

    Returns:
        (n,) int array of indices into labels, in a mixed class order ready for training.
    """
    labels = np.asarray(labels).reshape(-1)
    if not 1 <= n <= labels.size:
        raise ValueError(f"Invalid subset size n={n!r}: expected 1 <= n <= {labels.size}.")
    order = np.random.default_rng(seed).permutation(labels.size)
    shuffled = labels[order]
    # Rank of each example within its class, in shuffled order; then take rank 0 of every class, rank 1, ...
    by_class = np.argsort(shuffled, kind="stable")
    rank = np.empty(labels.size, dtype=np.int64)
    starts = np.searchsorted(shuffled[by_class], shuffled[by_class], side="left")
    rank[by_class] = np.arange(labels.size) - starts
    return order[np.lexsort((np.arange(labels.size), rank))[:n]]


def scale_to_unit(x):
    """uint8 pixels (any shape) -> float32 in [0, 1]."""
    return np.asarray(x, dtype=np.float32) / np.float32(255)


def channel_stats(x_train):
    """Per-channel mean and standard deviation of training images, for ``standardize``.

    Compute them on the training split only, never on test data.

    Args:
        x_train: (N, H, W, C) images, or (N, H, W) for one channel.

    Returns:
        (mean, std): float32 arrays of shape (C,), or scalars' shape () for (N, H, W).
    """
    x = np.asarray(x_train)
    values = x.reshape(-1, x.shape[-1]) if x.ndim == 4 else x.reshape(-1, 1)
    # Float64 sums in chunks: exact enough over 50 million pixels, without a float copy of the whole set.
    total = np.zeros(values.shape[1])
    squares = np.zeros(values.shape[1])
    for start in range(0, len(values), 1 << 20):
        chunk = values[start:start + (1 << 20)].astype(np.float64)
        total += chunk.sum(axis=0)
        squares += (chunk ** 2).sum(axis=0)
    mean = total / len(values)
    std = np.sqrt(np.maximum(squares / len(values) - mean ** 2, 0))
    if x.ndim != 4:
        mean, std = mean[0], std[0]
    return mean.astype(np.float32), std.astype(np.float32)


def standardize(x, mean, std):
    """Standard scores (x - mean) / std as float32, with statistics from ``channel_stats``."""
    return (np.asarray(x, dtype=np.float32) - mean) / std


# --------------------------------------------------------------------------- finding the files


def _search_dirs(path):
    """The folders searched, in order, each with a short description for error messages."""
    dirs = []
    if path is not None:
        dirs.append((Path(path), "the `path` argument"))
    if os.environ.get(DATA_VARIABLE):
        dirs.append((Path(os.environ[DATA_VARIABLE]), f"${DATA_VARIABLE}"))
    dirs.append((OFFLINE_DIR, "offline copies beside the project"))
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    dirs.append((keras_home / "datasets", "Keras' cache"))
    return dirs


def data_folders():
    """Where the loaders look, for a process that must find the same files from elsewhere.

    Returns:
        (the search folders that exist, the environment variables that make a process with
        another home directory search the same folders).
    """
    variables = {"KERAS_HOME": os.environ.get("KERAS_HOME", str(Path.home() / ".keras"))}
    if os.environ.get(DATA_VARIABLE):
        variables[DATA_VARIABLE] = os.environ[DATA_VARIABLE]
    return [folder for folder, _ in _search_dirs(None) if folder.is_dir()], variables


def _find(name, file_names, path):
    """First existing file (or folder) among ``file_names`` in the search folders, else None."""
    if path is not None and Path(path).is_file():
        return Path(path)
    if path is not None and not Path(path).exists():
        raise FileNotFoundError(f"{name}: the path {str(path)!r} does not exist.")
    for folder, _ in _search_dirs(path):
        for file_name in file_names:
            candidate = folder / file_name
            if candidate.exists():
                return candidate
    return None


def local_copy(dataset):
    """The first local copy of ``dataset`` ("mnist" or "cifar10") in the search folders, or None."""
    return _find(dataset, DATASET_FILES[dataset], None)


def missing_help(dataset):
    """What to do when no local copy of ``dataset`` exists: every folder searched, and the ways out."""
    files = DATASET_FILES[dataset]
    searched = "\n".join(f"  - {folder} ({why})" for folder, why in _search_dirs(None))
    return (f"No local copy of {dataset} was found. Looked for {' or '.join(files)} in:\n"
            f"{searched}\n"
            f"Put one of those files in a folder and set {DATA_VARIABLE}=/that/folder, pass "
            f"path=..., or connect to the internet so that Keras can download it.")


def _download(dataset, allowed):
    """keras.datasets.<dataset>.load_data(), or a FileNotFoundError that says where we looked."""
    help_text = missing_help(dataset)
    if not allowed:
        raise FileNotFoundError(help_text + " (Downloading was switched off: download=False.)")
    from cnnlib.quiet_tf import import_tensorflow
    import_tensorflow()
    import keras
    try:
        return getattr(keras.datasets, dataset).load_data()
    except Exception as error:  # no network, a proxy, a broken cache: all end the same way
        raise FileNotFoundError(f"{help_text}\nKeras' download failed: {error}") from error


def _subsets(splits, n_train, n_test):
    """Apply the optional class-balanced subset to ((x_train, y_train), (x_test, y_test))."""
    out = []
    for (x, y), n in zip(splits, (n_train, n_test)):
        if n is None:
            out.append((x.copy(), y.copy()))  # never the cached arrays of a file themselves
        else:
            keep = balanced_subset_indices(y, n)
            out.append((x[keep], y[keep]))
    return tuple(out)


def _load_cifar10_jpeg(source, n_train, n_test):
    """Decode the offline JPEG copy, only the images of the requested subsets."""
    from PIL import Image

    splits = []
    f = _read_npz(source)
    for split, n in (("train", n_train), ("test", n_test)):
        labels = f[f"{split}_labels"]
        keep = np.arange(labels.size) if n is None else balanced_subset_indices(labels, n)
        data, offsets = f[f"{split}_jpeg"], f[f"{split}_offsets"]
        images = np.empty((keep.size, 32, 32, 3), dtype=np.uint8)
        for row, i in enumerate(keep):
            jpeg = data[offsets[i]:offsets[i + 1]].tobytes()
            images[row] = np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))
        splits.append((images, labels[keep].astype(np.uint8).reshape(-1, 1)))
    return tuple(splits)


def read_ahead():
    """Read the local data files that the loaders would use into this process's cache, so that
    processes forked from it find them read (grading kernels: ``autograder.sandbox.zygote``)."""
    for name, files in (("MNIST", MNIST_FILES), ("CIFAR-10", CIFAR10_FILES)):
        source = _find(name, files, None)
        if source is not None and source.suffix == ".npz":
            _read_npz(source)


def _read_npz(path):
    """The arrays of an ``.npz`` file, read once per process (unpacking MNIST takes about 0.3 s,
    and a notebook loads it more than once) and read-only: loaders return copies of them."""
    info = Path(path).stat()
    return _read_npz_once(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=4)
def _read_npz_once(path, modified, size):
    with np.load(path, allow_pickle=False) as f:
        arrays = {name: f[name] for name in f.files}
    for array in arrays.values():
        array.flags.writeable = False
    return arrays


def _load_cifar10_batches(folder):
    """Read Keras' extracted ``cifar-10-batches-py`` folder (the dataset's Python version)."""
    def read(name):
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="bytes")
        images = batch[b"data"].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, np.asarray(batch[b"labels"], dtype=np.uint8).reshape(-1, 1)

    train = [read(f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return (x_train, y_train), read("test_batch")
