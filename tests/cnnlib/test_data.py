"""cnnlib.data: where the loaders look, what they return, subsets and scaling."""

import pickle

import numpy as np
import pytest

from cnnlib import data


@pytest.fixture
def nowhere(tmp_path, monkeypatch):
    """No data anywhere: no variable, no offline copies, an empty Keras cache."""
    monkeypatch.delenv(data.DATA_VARIABLE, raising=False)
    monkeypatch.setattr(data, "OFFLINE_DIR", tmp_path / "no-offline-copies")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    return tmp_path


def fake_mnist(folder, n_train=30, n_test=20, fill=7):
    """Write a small mnist.npz in Keras' format; return its labels."""
    folder.mkdir(parents=True, exist_ok=True)
    y_train = np.arange(n_train, dtype=np.uint8) % 10
    y_test = np.arange(n_test, dtype=np.uint8) % 10
    np.savez(folder / "mnist.npz",
             x_train=np.full((n_train, 28, 28), fill, np.uint8), y_train=y_train,
             x_test=np.full((n_test, 28, 28), fill, np.uint8), y_test=y_test)
    return y_train, y_test


offline = pytest.mark.skipif(not (data.OFFLINE_DIR / "mnist.npz").exists(),
                             reason="the offline copies beside the project are not here")


@offline
def test_mnist_from_the_offline_copy_is_shaped_like_keras():
    """Does load_mnist return Keras' shapes, dtypes and the canonical first labels?"""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    assert x_train.shape == (60000, 28, 28) and x_train.dtype == np.uint8
    assert y_train.shape == (60000,) and y_train.dtype == np.uint8
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]


@offline
def test_cifar10_subset_from_the_offline_copy_is_shaped_like_keras():
    """Does a CIFAR-10 subset come back as Keras' (N, 32, 32, 3) uint8 and (N, 1) labels, balanced?"""
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(n_train=200, n_test=50)
    assert x_train.shape == (200, 32, 32, 3) and x_train.dtype == np.uint8
    assert y_train.shape == (200, 1) and y_train.dtype == np.uint8
    assert x_test.shape == (50, 32, 32, 3) and y_test.shape == (50, 1)
    assert np.bincount(y_train.ravel()).tolist() == [20] * 10
    assert 100 < x_train.mean() < 140  # real photographs, not zeros


def test_subset_is_deterministic_balanced_and_nested():
    """Is the subset the same each time, class-balanced, and a prefix of any larger subset?"""
    labels = np.repeat(np.arange(10), 100)
    first = data.balanced_subset_indices(labels, 55)
    np.testing.assert_array_equal(first, data.balanced_subset_indices(labels, 55))
    np.testing.assert_array_equal(first, data.balanced_subset_indices(labels, 80)[:55])
    counts = np.bincount(labels[first], minlength=10)
    assert counts.max() - counts.min() <= 1 and len(set(first.tolist())) == 55
    with pytest.raises(ValueError, match=r"Invalid subset size n=0: expected 1 <= n <= 1000"):
        data.balanced_subset_indices(labels, 0)


def test_variable_folder_comes_before_the_offline_copies(nowhere, monkeypatch):
    """Is $CNN_COURSE_DATA searched before the offline copies, and the path argument before both?"""
    fake_mnist(nowhere / "offline", fill=1)
    fake_mnist(nowhere / "from-variable", fill=2)
    fake_mnist(nowhere / "from-argument", fill=3)
    monkeypatch.setattr(data, "OFFLINE_DIR", nowhere / "offline")
    assert data.load_mnist()[0][0].max() == 1
    monkeypatch.setenv(data.DATA_VARIABLE, str(nowhere / "from-variable"))
    assert data.load_mnist()[0][0].max() == 2
    assert data.load_mnist(path=nowhere / "from-argument")[0][0].max() == 3
    assert data.load_mnist(path=nowhere / "from-argument" / "mnist.npz")[0][0].max() == 3


def test_keras_cache_is_used_when_nothing_else_has_the_data(nowhere):
    """Is Keras' cache folder ($KERAS_HOME/datasets) searched?"""
    y_train, _ = fake_mnist(nowhere / "keras-home" / "datasets", n_train=40)
    (x_train, labels), _ = data.load_mnist(n_train=20)
    assert x_train.shape == (20, 28, 28)
    assert np.bincount(labels).tolist() == [2] * 10


def test_cifar10_in_keras_batches_and_plain_npz_formats(nowhere):
    """Are Keras' cifar-10-batches-py folder and a plain cifar10.npz read with the right layout?"""
    rng = np.random.default_rng(0)
    folder = nowhere / "keras-home" / "datasets" / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    channels_first = rng.integers(0, 256, (6, 3, 32, 32), dtype=np.uint8)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": channels_first.reshape(6, -1), b"labels": list(range(6))}, f)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    assert x_train.shape == (30, 32, 32, 3) and y_train.shape == (30, 1) and x_test.shape == (6, 32, 32, 3)
    np.testing.assert_array_equal(x_test[2, :, :, 1], channels_first[2, 1])  # CHW -> HWC

    plain = nowhere / "plain"
    plain.mkdir()
    np.savez(plain / "cifar10.npz", x_train=x_train, y_train=y_train.ravel(), x_test=x_test, y_test=y_test)
    (_, y), _ = data.load_cifar10(path=plain)
    assert y.shape == (30, 1)


def test_nothing_found_without_download_names_every_place_searched(nowhere):
    """With no copy anywhere and downloads off, is the error clear about where it looked and what to do?"""
    with pytest.raises(FileNotFoundError) as error:
        data.load_mnist(download=False)
    message = str(error.value)
    assert "mnist.npz" in message and data.DATA_VARIABLE in message
    assert str(nowhere / "no-offline-copies") in message
    assert str(nowhere / "keras-home" / "datasets") in message
    assert "download=False" in message


def test_failed_download_reports_where_it_looked(nowhere, monkeypatch):
    """When Keras' download fails (no network), does the error keep both the places and the cause?"""
    import keras

    def offline(*args, **kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", offline)
    with pytest.raises(FileNotFoundError, match=r"(?s)cifar10_jpeg.npz.*Keras' download failed: network is unreachable"):
        data.load_cifar10()


def test_missing_explicit_path_is_reported(nowhere):
    """Does a path that does not exist say so instead of silently looking elsewhere?"""
    with pytest.raises(FileNotFoundError, match=r"the path '.*nope' does not exist"):
        data.load_mnist(path=nowhere / "nope")


def test_scaling_and_standardization_use_training_statistics():
    """Does scale_to_unit map 0..255 to [0, 1], and standardize give mean 0, std 1 on the training split?"""
    x = np.array([0, 51, 255], dtype=np.uint8)
    np.testing.assert_allclose(data.scale_to_unit(x), [0, 0.2, 1])
    assert data.scale_to_unit(x).dtype == np.float32

    rng = np.random.default_rng(0)
    x_train = rng.normal([10, 20, 30], [1, 2, 3], size=(50, 4, 4, 3))
    mean, std = data.channel_stats(x_train)
    assert mean.shape == (3,) and std.shape == (3,)
    z = data.standardize(x_train, mean, std)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 1, 2)), 1, atol=1e-5)
    gray_mean, gray_std = data.channel_stats(np.ones((5, 28, 28)) * 3)
    assert gray_mean.shape == () and float(gray_mean) == 3 and float(gray_std) == 0


@offline
def test_channel_stats_of_the_full_cifar10_training_set():
    """Over 50,000 images, are the statistics those the offline copy's README gives (no float32 drift)?"""
    (x_train, _), _ = data.load_cifar10()
    mean, std = data.channel_stats(x_train)
    np.testing.assert_allclose(mean, [125.27, 122.93, 113.86], atol=0.01)
    np.testing.assert_allclose(std, [62.53, 61.91, 66.46], atol=0.01)


def test_a_data_file_is_read_once_and_a_change_to_what_was_returned_stays_there(nowhere, monkeypatch):
    """Is mnist.npz unpacked once per process (again only once the file changes), and does a
    student's in-place change to a loaded array leave the next load as the file has it?"""
    folder = nowhere / "data"
    fake_mnist(folder)
    monkeypatch.setenv(data.DATA_VARIABLE, str(folder))
    data._read_npz_once.cache_clear()
    (x_train, _), _ = data.load_mnist()
    x_train *= 0
    (x_subset, _), _ = data.load_mnist(n_train=10)
    x_subset += 1
    (x_again, _), _ = data.load_mnist()
    assert data._read_npz_once.cache_info().misses == 1 and data._read_npz_once.cache_info().hits == 2
    assert (x_again == 7).all() and x_again.flags.writeable
    fake_mnist(folder, fill=3)
    (x_changed, _), _ = data.load_mnist()
    assert (x_changed == 3).all() and data._read_npz_once.cache_info().misses == 2


def test_read_ahead_reads_the_files_the_loaders_would_use(nowhere, monkeypatch):
    """After read_ahead, does loading MNIST unpack nothing more?"""
    folder = nowhere / "data"
    fake_mnist(folder)
    monkeypatch.setenv(data.DATA_VARIABLE, str(folder))
    data._read_npz_once.cache_clear()
    data.read_ahead()
    assert data._read_npz_once.cache_info().misses == 1
    data.load_mnist(n_train=10, n_test=10)
    assert data._read_npz_once.cache_info().misses == 1 and data._read_npz_once.cache_info().hits == 1
