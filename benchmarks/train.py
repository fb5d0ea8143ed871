"""Train the course's full-mode models and print what they reach and how fast; measure notebook memory.

    .venv/bin/python benchmarks/train.py                           # all three models, full recipes
    .venv/bin/python benchmarks/train.py --models keras-mnist --save-weights
    .venv/bin/python benchmarks/train.py --models cifar --epochs 5 # a shortened CIFAR-10 run
    .venv/bin/python benchmarks/train.py --notebook-memory         # peak RSS of each notebook, fast and full
    .venv/bin/python benchmarks/train.py --record-histories        # the CIFAR-10 experiments -> cnnlib/histories/
    .venv/bin/python benchmarks/train.py --record-histories plain mlp --epochs 2   # some, shortened (not saved)

Models: ``numpy-mnist`` (the NumPy CNN of cnnlib.training), ``keras-mnist`` (the classic Keras MNIST
network), ``cifar`` (the CIFAR-10 network with batch normalization, dropout, crops and flips),
``cifar8-base`` (notebook 7's base, pretrained on the eight CIFAR-10 classes that are neither cats
nor dogs; ``--save-weights`` writes cnnlib/weights/cifar8_base.npz) and ``transfer`` (notebook 7's
three approaches to cats against dogs, full mode; details in benchmarks/train_transfer.py).
Each prints test accuracy, epochs, seconds per epoch and the Keras backend and devices. With
``--save-weights`` the trained weights replace the ones shipped in cnnlib/weights/.
``--record-histories`` trains the CIFAR-10 experiments of notebook 6 (``models.CIFAR_EXPERIMENTS``) with
their full-mode recipe (``models.CIFAR_EXPERIMENT_RECIPE``) and writes each one's per-epoch curves and
test accuracy to cnnlib/histories/<name>.json, which the notebook plots beside its live fast-mode runs.
The code uses only Keras' backend-independent API: set KERAS_BACKEND=jax to time the JAX backend.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnlib import augment, data, training  # noqa: E402

sys.path.insert(0, str(ROOT / "benchmarks"))
import train_transfer  # noqa: E402  (notebook 7's base and comparison)

NOTEBOOKS = (ROOT / "course/05-mnist/mnist.ipynb", ROOT / "course/06-cifar10/cifar10.ipynb",
             ROOT / "course/07-transfer-learning/transfer_learning.ipynb")
MEMORY_LIMIT_MB = 2048


def report(name, accuracy, epochs, seconds, images):
    """Print one result line (and return it as a dict)."""
    result = {"model": name, "test_accuracy": round(accuracy, 4), "epochs": epochs,
              "seconds_per_epoch": round(seconds / epochs, 1),
              "images_per_second": round(images * epochs / seconds)}
    print(json.dumps(result), flush=True)
    return result


def run_numpy_mnist(epochs, save):
    """The NumPy CNN trained with cnnlib.training.train_step (SGD with momentum)."""
    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    x_train = data.scale_to_unit(x_train)[..., None]
    x_test = data.scale_to_unit(x_test)[..., None]
    recipe = dict(training.NUMPY_MNIST_RECIPE)
    steps_per_epoch = -(-len(x_train) // recipe["batch_size"])
    if epochs is not None:
        recipe["steps"] = epochs * steps_per_epoch
    params = training.init_cnn()
    start = time.perf_counter()
    training.fit(params, x_train, y_train, **recipe)
    seconds = time.perf_counter() - start
    if save:
        training.save_params(ROOT / "cnnlib/weights/mnist_numpy_cnn.npz", params)
    return report("numpy-mnist", training.accuracy(params, x_test, y_test),
                  recipe["steps"] / steps_per_epoch, seconds, len(x_train))


def run_keras_mnist(epochs, save):
    """The classic Keras MNIST network, cosine-decayed Adam."""
    from cnnlib import models

    (x_train, y_train), (x_test, y_test) = data.load_mnist()
    recipe = models.MNIST_RECIPE
    train = models.ImageBatches(x_train, y_train, data.scale_to_unit, recipe["batch_size"])
    test = models.ImageBatches(x_test, y_test, data.scale_to_unit, 1000, shuffle=False)
    model = models.model_from_spec((28, 28, 1), models.MNIST_CLASSIC_SPEC, name="mnist_classic")
    return _train_keras("keras-mnist", model, train, test, epochs or recipe["epochs"], recipe["learning_rate"],
                        "mnist_classic.npz" if save else None)


def run_cifar(epochs, save, width=1):
    """The CIFAR-10 network with batch normalization and dropout, crops and flips, cosine Adam."""
    from cnnlib import models

    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    recipe = models.CIFAR_RECIPE
    mean, std = data.channel_stats(x_train)

    def preprocess(batch):
        return data.standardize(batch, mean, std)

    def crops_and_flips(batch, rng):
        return augment.crop_and_flip(batch, rng, pad=recipe["shift"])

    train = models.ImageBatches(x_train, y_train, preprocess, recipe["batch_size"], augment=crops_and_flips)
    test = models.ImageBatches(x_test, y_test, preprocess, 1000, shuffle=False)
    return _train_keras(f"cifar (width {width})", models.build_cifar_net(width=width), train, test,
                        epochs or recipe["epochs"], recipe["learning_rate"], "cifar10_net.npz" if save else None)


def _train_keras(name, model, train, test, epochs, learning_rate, weights_file):
    """Train with ``models.fit`` and report; with a ``weights_file`` name, also save the weights to
    cnnlib/weights/ and report the accuracy of the saved (int8) weights as shipped."""
    from cnnlib import models

    start = time.perf_counter()
    models.fit(model, train, epochs=epochs, learning_rate=learning_rate)
    seconds = time.perf_counter() - start
    result = report(name, _keras_accuracy(model, test), epochs, seconds, len(train.x))
    if weights_file:
        path = ROOT / "cnnlib/weights" / weights_file
        models.save_compact_weights(model, path)
        shipped = _keras_accuracy(models.load_compact_weights(model, path), test)
        print(json.dumps({"model": name, "saved": str(path.relative_to(ROOT)),
                          "shipped_test_accuracy": round(shipped, 4)}), flush=True)
    return result


def _keras_accuracy(model, batches):
    from cnnlib import models

    return float((models.predict_proba(model, batches).argmax(axis=1) == batches.y).mean())


def record_histories(names, epochs=None):
    """Train the CIFAR-10 experiments ``names`` with the experiments' recipe; with the recipe's own
    number of epochs, write each history to cnnlib/histories/ (a shortened run only prints)."""
    from cnnlib import evaluation, models

    recipe = models.CIFAR_EXPERIMENT_RECIPE
    (x_all, y_all), (x_test, y_test) = data.load_cifar10(n_train=recipe["n_train"], n_test=recipe["n_test"])
    (x_train, y_train), (x_val, y_val) = models.split_train_validation(
        x_all, y_all, recipe["validation_fraction"], recipe["seed"])
    mean, std = data.channel_stats(x_train)

    def preprocess(batch):
        return data.standardize(batch, mean, std)

    val = models.ImageBatches(x_val, y_val, preprocess, 500, shuffle=False)
    test = models.ImageBatches(x_test, y_test, preprocess, 500, shuffle=False)
    run_epochs = epochs or recipe["epochs"]
    for name in names:
        start = time.perf_counter()
        model, history = models.train_experiment(name, x_train, y_train, val, preprocess, run_epochs, verbose=2)
        seconds = time.perf_counter() - start
        record = {
            "experiment": name, "setup": models.CIFAR_EXPERIMENTS[name], "recipe": recipe, "epochs": run_epochs,
            "history": {key: [round(float(v), 5) for v in values] for key, values in history.items()},
            "test_accuracy": round(_keras_accuracy(model, test), 5),
            "parameters": int(model.count_params()),
            "seconds": round(seconds), "device": ", ".join(_devices(models.keras)),
            "keras": f"{models.keras.__version__} ({models.keras.backend.backend()})",
            "command": f"benchmarks/train.py --record-histories {name!r}",
        }
        print(json.dumps({k: record[k] for k in ("experiment", "epochs", "test_accuracy", "seconds")}), flush=True)
        if epochs is None or epochs == recipe["epochs"]:
            path = evaluation.HISTORIES_DIR / f"{evaluation.history_file_stem(name)}.json"
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(record, indent=1) + "\n")
            print(json.dumps({"saved": str(path.relative_to(ROOT))}), flush=True)


def notebook_memory(notebook, mode, timeout):
    """Execute a notebook in a child process; return its peak RSS in MB and the wall time.

    The child runs nbclient, which starts the kernel as its own child and waits for it, so the
    child's RUSAGE_CHILDREN maximum is the kernel's peak resident memory.
    """
    script = (
        "import nbformat, resource, sys; from nbclient import NotebookClient\n"
        "nb = nbformat.read(sys.argv[1], as_version=4)\n"
        "NotebookClient(nb, timeout=int(sys.argv[2]), resources={'metadata': {'path': sys.argv[3]}}).execute()\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    env = dict(os.environ, CNN_COURSE_MODE=mode)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", script, str(notebook), str(timeout), str(notebook.parent)],
                          env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{notebook.name} failed in {mode} mode:\n{done.stderr[-3000:]}")
    return int(done.stdout.split()[-1]) / 1024, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["numpy-mnist", "keras-mnist", "cifar"],
                        choices=["numpy-mnist", "keras-mnist", "cifar", "cifar8-base", "transfer"],
                        help="cifar8-base: the transfer-learning base of notebook 7 (cnnlib/weights/"
                             "cifar8_base.npz); transfer: notebook 7's three approaches compared in full mode")
    parser.add_argument("--epochs", type=int, help="override the recipes' number of epochs")
    parser.add_argument("--width", type=int, default=1, help="CIFAR-10 network width multiplier")
    parser.add_argument("--save-weights", action="store_true", help="write the trained weights to cnnlib/weights/")
    parser.add_argument("--notebook-memory", action="store_true",
                        help="instead of training, execute the notebooks and print their peak memory")
    parser.add_argument("--modes", nargs="+", default=["fast", "full"], choices=["fast", "full"])
    parser.add_argument("--timeout", type=int, default=3600, help="per-cell timeout for --notebook-memory")
    parser.add_argument("--record-histories", nargs="*", metavar="EXPERIMENT",
                        help="train the CIFAR-10 experiments (all when none named) and record their histories")
    args = parser.parse_args(argv)

    if args.record_histories is not None:
        from cnnlib import models
        record_histories(args.record_histories or list(models.CIFAR_EXPERIMENTS), args.epochs)
        return

    if args.notebook_memory:
        for notebook in NOTEBOOKS:
            for mode in args.modes:
                peak_mb, seconds = notebook_memory(notebook, mode, args.timeout)
                print(json.dumps({"notebook": notebook.name, "mode": mode, "peak_rss_mb": round(peak_mb),
                                  "seconds": round(seconds), "under_2GB": peak_mb < MEMORY_LIMIT_MB}), flush=True)
        return

    if {"keras-mnist", "cifar", "cifar8-base", "transfer"} & set(args.models):
        from cnnlib import models
        print(json.dumps({"keras_backend": models.keras.backend.backend(),
                          "devices": _devices(models.keras)}), flush=True)
    for name in args.models:
        if name == "numpy-mnist":
            run_numpy_mnist(args.epochs, args.save_weights)
        elif name == "keras-mnist":
            run_keras_mnist(args.epochs, args.save_weights)
        elif name == "cifar8-base":
            train_transfer.run_cifar8_base(args.epochs, args.save_weights)
        elif name == "transfer":
            train_transfer.run_comparison("full")
        else:
            run_cifar(args.epochs, args.save_weights, args.width)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"peak_rss_mb": round(usage.ru_maxrss / 1024), "cpu_seconds": round(usage.ru_utime)}))


def _devices(keras):
    """The accelerators Keras sees, as strings ("cpu" when there are none)."""
    try:
        return [str(d) for d in keras.distribution.list_devices()]
    except Exception:  # noqa: BLE001 - listing devices is informational only
        return ["unknown"]


if __name__ == "__main__":
    main()
