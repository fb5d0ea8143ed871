"""Pretrain the transfer-learning base, and compare the three ways of classifying cats and dogs.

    .venv/bin/python benchmarks/train_transfer.py --base --save-weights   # 8-class base, ships its weights
    .venv/bin/python benchmarks/train_transfer.py --base --epochs 2       # a shortened run
    .venv/bin/python benchmarks/train_transfer.py --compare               # from scratch / bottleneck / fine-tune
    .venv/bin/python benchmarks/train_transfer.py --compare --mode fast   # the notebook's fast-mode figures
    .venv/bin/python benchmarks/train_transfer.py --head-test             # the head test's accuracy, 10 seeds
    .venv/bin/python benchmarks/train_transfer.py --curve --seeds 2       # the learning curve, shipped
    .venv/bin/python benchmarks/train_transfer.py --curve --sizes 25      # one size of it (not saved)
    .venv/bin/python benchmarks/train_transfer.py --curve --seeds 2 --resume a.log b.log   # runs printed before

``--base`` trains ``cnnlib.transfer.build_cifar8_classifier`` on the 40,000 CIFAR-10 training images
that are neither cats nor dogs (cosine Adam, crops and flips, ``transfer.CIFAR8_RECIPE``) and prints its
test accuracy on the 8,000 such test images; with ``--save-weights`` it writes
cnnlib/weights/cifar8_base.npz (int8 kernels) and prints the accuracy and size of the file as shipped.

``--compare`` runs the notebook's three approaches on 1,000 training and 200 validation images per
class and prints each one's accuracy on CIFAR-10's 2,000 test cats and dogs (one JSON line each).
``--curve`` runs the same three approaches in full mode on 25 to 1,000 training images per class
(``cnnlib.transfer_curve.CURVE_SIZES``), once per seed, and writes cnnlib/histories/transfer_curve.json
with the accuracies, the settings and the shipped base's own accuracy: the curve notebook 7 plots.
``--head-test`` repeats the notebook's accuracy test of ``build_head`` with ten seeds (its threshold is
set below the lowest). ``run_cifar8_base`` and ``run_comparison`` are the entry points for
``benchmarks/train.py``.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from cnnlib import augment, data  # noqa: E402


def cifar8_split(x, y):
    """The images of ``x`` that are neither cats nor dogs, with labels 0..7 (``CIFAR8_CLASSES``' order).

    Args:
        x: (N, 32, 32, 3) uint8; y: (N, 1) labels 0..9.

    Returns:
        (x8, y8): (M, 32, 32, 3) uint8 and (M,) int32.
    """
    from cnnlib import transfer

    y = np.asarray(y).reshape(-1)
    keep = np.isin(y, transfer.CIFAR8_LABELS)
    to_eight = np.full(10, -1, dtype=np.int32)
    to_eight[list(transfer.CIFAR8_LABELS)] = np.arange(len(transfer.CIFAR8_LABELS))
    return x[keep], to_eight[y[keep]]


def run_cifar8_base(epochs=None, save=False, verbose=2):
    """Pretrain the 8-class base; print and return its test accuracy (and, saving, the shipped file's)."""
    from cnnlib import models, transfer

    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    x_train, y_train = cifar8_split(x_train, y_train)
    x_test, y_test = cifar8_split(x_test, y_test)
    recipe = transfer.CIFAR8_RECIPE
    epochs = epochs or recipe["epochs"]

    def crops_and_flips(batch, rng):
        return augment.crop_and_flip(batch, rng, pad=recipe["shift"])

    train = models.ImageBatches(x_train, y_train, _as_float, recipe["batch_size"], augment=crops_and_flips)
    test = models.ImageBatches(x_test, y_test, _as_float, 1000, shuffle=False)
    models.keras.utils.set_random_seed(0)
    model = transfer.build_cifar8_classifier()
    start = time.perf_counter()
    models.fit(model, train, test if verbose else None, epochs=epochs, learning_rate=recipe["learning_rate"],
               verbose=verbose)
    seconds = time.perf_counter() - start
    result = {"model": "cifar8 base", "test_accuracy": round(_accuracy(model, test), 4), "epochs": epochs,
              "seconds_per_epoch": round(seconds / epochs, 1),
              "images_per_second": round(len(x_train) * epochs / seconds)}
    print(json.dumps(result), flush=True)
    if save:
        models.save_compact_weights(model, transfer.WEIGHTS_FILE)
        shipped = transfer.build_cifar8_classifier()
        models.load_compact_weights(shipped, transfer.WEIGHTS_FILE)
        result["shipped_test_accuracy"] = round(_accuracy(shipped, test), 4)
        print(json.dumps({"model": "cifar8 base", "saved": str(transfer.WEIGHTS_FILE.relative_to(ROOT)),
                          "bytes": transfer.WEIGHTS_FILE.stat().st_size,
                          "shipped_test_accuracy": result["shipped_test_accuracy"]}), flush=True)
    return result


def run_comparison(mode="full", seed=0, verbose=0):
    """The notebook's three approaches to cats against dogs; print and return their test accuracies.

    Args:
        mode: "full" (the lecture's sizes and epochs) or "fast" (the notebook's fast mode).
        seed: Keras' random seed, set before each approach.
        verbose: Keras' verbosity while training.

    Returns:
        dict approach -> test accuracy on CIFAR-10's test cats and dogs.
    """
    from cnnlib import transfer

    recipe = transfer.TRANSFER_RECIPE[mode]
    splits = transfer.load_cats_and_dogs(**{**transfer.DECK_SIZES, "test": recipe["test_per_class"]})
    results, timings = three_approaches(splits, recipe, seed, verbose)
    for approach, accuracy in results.items():
        print(json.dumps({"approach": approach, "mode": mode, "seed": seed, "test_accuracy": round(accuracy, 4),
                          "test_images": len(splits["test"][1]), "seconds": round(timings[approach], 1)}), flush=True)
    return results


def three_approaches(splits, recipe, seed=0, verbose=0):
    """From scratch, bottleneck features + head, fine-tuning: trained as the notebook trains them.

    Args:
        splits: dict "train", "validation", "test" -> (x, y), as ``transfer.load_cats_and_dogs`` returns.
        recipe: one of ``transfer.TRANSFER_RECIPE``'s recipes (batch size, epochs, fine-tuning's SGD).
        seed: Keras' random seed, set before each approach, and the seed of shuffling and augmentation.
        verbose: Keras' verbosity while training.

    Returns:
        (accuracies, seconds): dicts approach -> test accuracy on ``splits["test"]`` and -> training time.
    """
    import tempfile

    from cnnlib import transfer

    keras = transfer.keras
    x_test, y_test = splits["test"]
    results, timings = {}, {}
    with tempfile.TemporaryDirectory() as folder:
        transfer.write_class_folders(folder, {split: splits[split] for split in transfer.SPLITS})
        train, validation = transfer.image_datasets(folder, recipe["batch_size"], seed=seed)
        x_train, y_train = transfer.dataset_arrays(train)
        x_val, y_val = transfer.dataset_arrays(validation)

        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        scratch = transfer.build_small_convnet()
        transfer.compile_and_fit(scratch, transfer.augmented(train, transfer.deck_augmentation(seed)), validation,
                                 epochs=recipe["scratch_epochs"], optimizer="rmsprop", verbose=verbose)
        results["from scratch"] = transfer.binary_accuracy(scratch, x_test, y_test)
        timings["from scratch"] = time.perf_counter() - start

        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        base = transfer.load_cifar8_base()
        features_train = transfer.bottleneck_features(base, x_train)
        features_val = transfer.bottleneck_features(base, x_val)
        head = transfer.build_head(features_train.shape[1:])
        transfer.compile_and_fit(head, (features_train, y_train), (features_val, y_val),
                                 epochs=recipe["head_epochs"], batch_size=recipe["batch_size"], verbose=verbose)
        model = transfer.stack(base, head)
        results["bottleneck features"] = transfer.binary_accuracy(model, x_test, y_test)
        timings["bottleneck features"] = time.perf_counter() - start

        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        transfer.freeze_up_to(model, "block3_conv1")
        optimizer = keras.optimizers.SGD(recipe["finetune_learning_rate"], momentum=recipe["momentum"])
        transfer.compile_and_fit(model, transfer.augmented(train, transfer.deck_augmentation(seed)), validation,
                                 epochs=recipe["finetune_epochs"], optimizer=optimizer, verbose=verbose)
        results["fine-tuned"] = transfer.binary_accuracy(model, x_test, y_test)
        timings["fine-tuned"] = time.perf_counter() - start
    return results, timings


def run_curve(seeds, sizes=None, save=True, done=()):
    """The learning curve: the three approaches in full mode on ``sizes`` training images per class.

    Every run validates on ``transfer_curve.CURVE_VALIDATION`` images per class (as the notebook does;
    validation only reports, it chooses nothing) and is scored on CIFAR-10's 2,000 test cats and dogs.
    Prints one JSON line per (size, approach, seed); with ``save`` and the full sizes, writes
    ``transfer_curve.CURVE_FILE`` with the runs, the settings and the pretrained base's accuracy.
    Runs already printed by other runs of this function (``done``, e.g. several processes that each
    ran some sizes side by side) are taken as they are; only the missing (size, seed) pairs train.

    Args:
        seeds: the seeds (each size and approach runs once per seed).
        sizes: training images per class (``transfer_curve.CURVE_SIZES`` when None).
        save: whether to write the file.
        done: run dicts as printed ("size", "approach", "seed", "test_accuracy", "seconds").

    Returns:
        the record (the file's content).
    """
    import hashlib

    from cnnlib import transfer, transfer_curve

    sizes = list(sizes or transfer_curve.CURVE_SIZES)
    recipe = transfer.TRANSFER_RECIPE["full"]
    known = {(run["size"], run["approach"], run["seed"]): run for run in done}
    runs = []
    for size in sizes:
        splits = None
        for seed in seeds:
            kept = [known.get((size, approach, seed)) for approach in transfer_curve.APPROACHES]
            if all(kept):
                runs += kept
                continue
            if splits is None:
                splits = transfer.load_cats_and_dogs(size, transfer_curve.CURVE_VALIDATION, recipe["test_per_class"])
            accuracies, seconds = three_approaches(splits, recipe, seed)
            for approach in transfer_curve.APPROACHES:
                runs.append({"size": size, "approach": approach, "seed": seed,
                             "test_accuracy": round(accuracies[approach], 4), "seconds": round(seconds[approach], 1)})
                print(json.dumps(runs[-1]), flush=True)
    weights = transfer.WEIGHTS_FILE.read_bytes()
    record = {
        "sizes": sizes, "approaches": list(transfer_curve.APPROACHES), "seeds": list(seeds), "runs": runs,
        "recipe": recipe, "validation_per_class": transfer_curve.CURVE_VALIDATION,
        "test_images": 2 * recipe["test_per_class"],
        "base": {"filters": list(transfer.BASE_FILTERS), "test_accuracy": round(shipped_base_accuracy(), 4),
                 "bytes": len(weights), "sha256": hashlib.sha256(weights).hexdigest()},
        "device": _device(), "keras": transfer.keras.__version__,
        "command": f"benchmarks/train_transfer.py --curve --seeds {len(seeds)}",
    }
    print(json.dumps({"base": record["base"]}), flush=True)
    if save and sizes == list(transfer_curve.CURVE_SIZES) and list(seeds) == list(range(len(seeds))):
        transfer_curve.CURVE_FILE.write_text(json.dumps(record, indent=1) + "\n")
        print(json.dumps({"saved": os.path.relpath(transfer_curve.CURVE_FILE, ROOT)}), flush=True)
    return record


def shipped_base_accuracy():
    """The shipped base's classifier (cnnlib/weights/cifar8_base.npz) on CIFAR-10's 8,000 test images
    that are neither cats nor dogs: its accuracy, a float in [0, 1]."""
    from cnnlib import models, transfer

    _, (x_test, y_test) = data.load_cifar10()
    x_test, y_test = cifar8_split(x_test, y_test)
    classifier = models.load_compact_weights(transfer.build_cifar8_classifier(), transfer.WEIGHTS_FILE)
    return _accuracy(classifier, models.ImageBatches(x_test, y_test, _as_float, 1000, shuffle=False))


def _as_float(batch):
    return np.asarray(batch, dtype=np.float32)


def _device():
    """"cpu", or the accelerators Keras sees."""
    from cnnlib import transfer

    devices = [str(d) for d in transfer.keras.distribution.list_devices()]
    return "cpu" if all(d.lower().startswith("cpu") for d in devices) else ", ".join(devices)


def head_accuracy_runs(seeds):
    """The accuracy test of the notebook's build_head, with the reference head, once per seed.

    The test trains the head for ``HEAD_TEST["epochs"]`` epochs on the bottleneck features of 200
    training images per class and scores it on 100 test images per class; its threshold is set
    below the lowest of these accuracies.
    """
    from cnnlib import transfer

    (features_train, y_train), (features_test, y_test) = transfer.head_test_features()
    accuracies = []
    for seed in seeds:
        transfer.keras.utils.set_random_seed(seed)
        head = transfer.build_head(features_train.shape[1:])
        transfer.compile_and_fit(head, (features_train, y_train), epochs=transfer.HEAD_TEST["epochs"],
                                 batch_size=32)
        accuracies.append(transfer.binary_accuracy(head, features_test, y_test))
    print(json.dumps({"head_test_accuracies": [round(a, 3) for a in accuracies], "lowest": round(min(accuracies), 3),
                      "threshold": transfer.HEAD_TEST["threshold"]}), flush=True)
    return accuracies


def _accuracy(model, batches):
    from cnnlib import models

    return float((models.predict_proba(model, batches).argmax(axis=1) == batches.y).mean())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", action="store_true", help="pretrain the 8-class base")
    parser.add_argument("--compare", action="store_true", help="from scratch, bottleneck features, fine-tuning")
    parser.add_argument("--epochs", type=int, help="override the base recipe's number of epochs")
    parser.add_argument("--save-weights", action="store_true", help="write cnnlib/weights/cifar8_base.npz")
    parser.add_argument("--mode", choices=["fast", "full"], default="full", help="the comparison's mode")
    parser.add_argument("--seeds", type=int, default=1, help="repeat the comparison with seeds 0, 1, ...")
    parser.add_argument("--head-test", action="store_true",
                        help="the notebook's head accuracy test with 10 seeds (to set its threshold)")
    parser.add_argument("--curve", action="store_true",
                        help="the learning curve, full mode: writes cnnlib/histories/transfer_curve.json")
    parser.add_argument("--sizes", type=int, nargs="+",
                        help="the curve's training images per class (a shortened run, not saved)")
    parser.add_argument("--seed-values", type=int, nargs="+", metavar="SEED",
                        help="the curve's seeds, instead of 0 .. --seeds - 1 (a part of a run, not saved)")
    parser.add_argument("--resume", nargs="+", default=[], metavar="LOG",
                        help="output of earlier --curve runs: their runs are kept, only the missing ones train")
    args = parser.parse_args(argv)
    if not (args.base or args.compare or args.head_test or args.curve):
        parser.error("choose --base, --compare, --head-test or --curve")
    if args.base:
        run_cifar8_base(args.epochs, args.save_weights)
    if args.compare:
        for seed in range(args.seeds):
            run_comparison(args.mode, seed)
    if args.head_test:
        head_accuracy_runs(range(10))
    if args.curve:
        done = [json.loads(line) for log in args.resume for line in Path(log).read_text().splitlines()
                if line.startswith('{"size"')]
        run_curve(args.seed_values or range(args.seeds), args.sizes, done=done)


if __name__ == "__main__":
    main()
