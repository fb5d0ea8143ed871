"""Answers made from a source notebook's solutions, for the grading round trip (test_course_grading).

``STYLES``: correct answers in other styles than the solutions': Python loops, vectorised NumPy,
CS231n's (a matrix product over the windows, ``x.reshape(N, -1).dot(w)``) for the NumPy exercises,
and, for the Keras builders, ``activation=`` arguments, separate ``Activation`` layers and the
functional API. Each keeps full marks. assignment -> style -> {function: body of the solution}.

``HANDED_OFF``: an exercise handed to another library, or to a function of cnnlib that does its
work: it loses exactly that exercise's points, with a note naming what it used.
assignment -> name -> (function, body, a fragment of the note).

``GRADER_BOUND``: an answer that asks the grader for a reference (a substituted function) on huge
arguments: refused within the test's memory bound, it loses the points of those tests only.
assignment -> name -> (function, body, grade ids of the tests that substitute the reference).
"""

PAD = "np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))"

STYLES_01 = {
    "loops": {
        "conv_single_step": "total = 0.0\nfor index in np.ndindex(W.shape):\n    total += a_slice[index] * W[index]\n"
                            "return float(total + b)",
        "correlate2d": "kh, kw = kernel.shape\nH, W = image.shape\nout = np.empty((H - kh + 1, W - kw + 1))\n"
                       "for r in range(H - kh + 1):\n    for c in range(W - kw + 1):\n        total = 0.0\n"
                       "        for u in range(kh):\n            for v in range(kw):\n"
                       "                total += image[r + u, c + v] * kernel[u, v]\n        out[r, c] = total\nreturn out",
        "apply_kernel_bank": "maps = np.zeros((image.shape[0] - kernels.shape[0] + 1, image.shape[1] - kernels.shape[1] + 1,"
                             " kernels.shape[2]))\nfor k in range(kernels.shape[2]):\n"
                             "    maps[:, :, k] = correlate2d(image, kernels[:, :, k])\nreturn maps",
    },
    "vectorised": {
        "conv_single_step": "return float((a_slice * W).sum() + b)",
        "correlate2d": "windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)\n"
                       "return np.einsum('ijuv,uv->ij', windows, kernel).astype(float)",
        "apply_kernel_bank": "return np.moveaxis(np.array([correlate2d(image, kernels[..., k])"
                             " for k in range(kernels.shape[-1])]), 0, -1)",
    },
    "cs231n": {
        "conv_single_step": "return float(a_slice.reshape(-1).dot(W.reshape(-1)) + b)",
        "correlate2d": "HH, WW = kernel.shape\nH_out, W_out = image.shape[0] - HH + 1, image.shape[1] - WW + 1\n"
                       "out = np.zeros((H_out, W_out))\nw_row = kernel.reshape(-1)\nfor i in range(H_out):\n"
                       "    for j in range(W_out):\n        out[i, j] = image[i:i + HH, j:j + WW].reshape(-1).dot(w_row)\n"
                       "return out",
    },
}

STYLES_04 = {
    "loops": {
        "softmax_cross_entropy":
            "N, K = logits.shape\nlabels = np.argmax(y, axis=1) if np.ndim(y) == 2 else np.asarray(y)\n"
            "loss, grad = 0.0, np.zeros((N, K))\nfor n in range(N):\n    top = max(logits[n])\n"
            "    exps = [np.exp(logits[n, k] - top) for k in range(K)]\n    total = sum(exps)\n"
            "    loss -= (logits[n, labels[n]] - top - np.log(total)) / N\n    for k in range(K):\n"
            "        grad[n, k] = (exps[k] / total - (k == labels[n])) / N\nreturn float(loss), grad",
        "hinge_loss":
            "N, K = scores.shape\nloss, grad = 0.0, np.zeros((N, K))\nfor n in range(N):\n    rival = None\n"
            "    for k in range(K):\n        if k != y[n] and (rival is None or scores[n, k] > scores[n, rival]):\n"
            "            rival = k\n    margin = 1 + scores[n, rival] - scores[n, y[n]]\n    if margin > 0:\n"
            "        loss += margin / N\n        grad[n, rival] += 1 / N\n        grad[n, y[n]] -= 1 / N\n"
            "return float(loss), grad",
        "mse_loss":
            "N, K = probs.shape\nloss, grad = 0.0, np.zeros((N, K))\nfor n in range(N):\n    for k in range(K):\n"
            "        diff = probs[n, k] - (1.0 if k == y[n] else 0.0)\n        loss += diff ** 2 / (N * K)\n"
            "        grad[n, k] = 2 * diff / (N * K)\nreturn float(loss), grad",
        "dense_forward":
            "N, M = x.shape[0], W.shape[1]\nflat = x.reshape(N, -1)\nout = np.zeros((N, M), dtype=np.result_type(x, W))\n"
            "for n in range(N):\n    for m in range(M):\n        out[n, m] = np.dot(flat[n], W[:, m]) + b[m]\nreturn out",
        "dense_backward":
            "N = x.shape[0]\nflat = x.reshape(N, -1)\ndx, dW, db = np.zeros(flat.shape), np.zeros(W.shape), np.zeros(W.shape[1])\n"
            "for n in range(N):\n    dx[n] = W @ dout[n]\n    dW += np.outer(flat[n], dout[n])\n    db += dout[n]\n"
            "return dx.reshape(x.shape), dW, db",
        "relu_backward":
            "dZ = np.zeros(np.shape(dA))\nfor index in np.ndindex(dZ.shape):\n"
            "    if Z[index] > 0:\n        dZ[index] = dA[index]\nreturn dZ",
    },
    "vectorised": {
        "softmax_cross_entropy":
            "one_hot = np.asarray(y, float) if np.ndim(y) == 2 else np.eye(logits.shape[1])[y]\n"
            "z = logits - logits.max(axis=1, keepdims=True)\nlog_probs = z - np.log(np.exp(z).sum(axis=1, keepdims=True))\n"
            "N = logits.shape[0]\nreturn float(-np.sum(one_hot * log_probs) / N), (np.exp(log_probs) - one_hot) / N",
        "hinge_loss":
            "N = len(y)\nrows = np.arange(N)\nothers = np.where(np.eye(scores.shape[1], dtype=bool)[y], -np.inf, scores)\n"
            "rival = np.argmax(others, axis=1)\nmargins = np.maximum(0, 1 + others[rows, rival] - scores[rows, y])\n"
            "grad = np.zeros(scores.shape)\nnp.add.at(grad, (rows, rival), (margins > 0) / N)\n"
            "np.add.at(grad, (rows, y), -1.0 * (margins > 0) / N)\nreturn float(margins.mean()), grad",
        "conv_backward":
            f"padded = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))\nfh, fw = W.shape[:2]\n"
            "windows = np.lib.stride_tricks.sliding_window_view(padded, (fh, fw), axis=(1, 2))[:, ::stride, ::stride]\n"
            "dW = np.einsum('nhwcpq,nhwf->pqcf', windows, dZ)\nd_padded = np.zeros(padded.shape)\n"
            "for i in range(dZ.shape[1]):\n    for j in range(dZ.shape[2]):\n"
            "        d_padded[:, i * stride:i * stride + fh, j * stride:j * stride + fw] += np.einsum('pqcf,nf->npqc', W, dZ[:, i, j])\n"
            "return d_padded[:, pad:padded.shape[1] - pad, pad:padded.shape[2] - pad], dW, dZ.sum(axis=(0, 1, 2))",
        "pool_backward":
            "N, H, W, C = A_prev.shape\ndA_prev = np.zeros(A_prev.shape)\n"
            "windows = np.lib.stride_tricks.sliding_window_view(A_prev, (size, size), axis=(1, 2))[:, ::stride, ::stride]\n"
            "for i in range(dA.shape[1]):\n    for j in range(dA.shape[2]):\n"
            "        block = dA_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :]\n"
            "        if mode == 'max':\n            flat = windows[:, i, j].reshape(N, C, -1)\n"
            "            first = np.eye(size * size)[flat.argmax(axis=-1)].reshape(N, C, size, size)\n"
            "            block += np.moveaxis(first, 1, -1) * dA[:, i, j][:, None, None, :]\n"
            "        else:\n            block += dA[:, i, j][:, None, None, :] / size ** 2\nreturn dA_prev",
    },
    "cs231n": {
        "softmax_cross_entropy":
            "N = logits.shape[0]\nlabels = np.argmax(y, axis=1) if np.ndim(y) == 2 else y\n"
            "shifted = logits - np.max(logits, axis=1, keepdims=True)\nZ = np.sum(np.exp(shifted), axis=1, keepdims=True)\n"
            "log_probs = shifted - np.log(Z)\nprobs = np.exp(log_probs)\nloss = -np.sum(log_probs[np.arange(N), labels]) / N\n"
            "dx = probs.copy()\ndx[np.arange(N), labels] -= 1\ndx /= N\nreturn float(loss), dx",
        "dense_forward": "return x.reshape(x.shape[0], -1).dot(W) + b",
        "dense_backward":
            "dx = dout.dot(W.T).reshape(x.shape)\ndw = x.reshape(x.shape[0], -1).T.dot(dout)\ndb = np.sum(dout, axis=0)\n"
            "return dx, dw, db",
        "relu_backward": "dx = np.array(dA, dtype=float, copy=True)\ndx[Z <= 0] = 0\nreturn dx",
        "conv_backward":
            "N, H, Wd, C = A_prev.shape\nHH, WW, _, F = W.shape\n_, H_out, W_out, _ = dZ.shape\n"
            f"x_pad = {PAD}\ndx_pad = np.zeros(x_pad.shape)\ndw = np.zeros(W.shape)\ndb = np.sum(dZ, axis=(0, 1, 2))\n"
            "w_row = W.reshape(-1, F)\nfor i in range(H_out):\n    for j in range(W_out):\n"
            "        x_col = x_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :].reshape(N, -1)\n"
            "        dw += x_col.T.dot(dZ[:, i, j, :]).reshape(W.shape)\n"
            "        dx_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :] += "
            "dZ[:, i, j, :].dot(w_row.T).reshape(N, HH, WW, C)\nreturn dx_pad[:, pad:pad + H, pad:pad + Wd, :], dw, db",
        "pool_backward":
            "N, H, W, C = A_prev.shape\ndx = np.zeros(A_prev.shape)\nfor i in range(dA.shape[1]):\n"
            "    for j in range(dA.shape[2]):\n        hs, ws = i * stride, j * stride\n"
            "        x_window = A_prev[:, hs:hs + size, ws:ws + size, :].reshape(N, -1, C)\n"
            "        if mode == 'max':\n            idx = np.argmax(x_window, axis=1)\n            grad = np.zeros(x_window.shape)\n"
            "            n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing='ij')\n"
            "            grad[n_idx, idx, c_idx] = dA[:, i, j, :]\n"
            "            dx[:, hs:hs + size, ws:ws + size, :] += grad.reshape(N, size, size, C)\n"
            "        else:\n            dx[:, hs:hs + size, ws:ws + size, :] += dA[:, i, j, None, None, :] / size ** 2\n"
            "return dx",
    },
}

BLOCKS_06 = "((32, 'same', 0.2), (64, 'same', 0.2), (128, 'valid', 0.5))"
STYLES_06 = {
    "loops": {
        "dropout_forward":
            "if not training or rate == 0:\n    return x, None\ndraws = np.random.default_rng(rng).random(x.shape)\n"
            "mask = np.zeros(x.shape)\nfor index in np.ndindex(x.shape):\n    if draws[index] >= rate:\n"
            "        mask[index] = 1 / (1 - rate)\nreturn x * mask, mask",
        "dropout_backward":
            "if cache is None:\n    return dout\ndx = np.zeros(np.shape(dout))\nfor index in np.ndindex(dx.shape):\n"
            "    dx[index] = dout[index] * cache[index]\nreturn dx",
        "batchnorm_forward":
            "C = x.shape[-1]\nrows = x.reshape(-1, C)\nmean, var = np.zeros(C), np.zeros(C)\nfor c in range(C):\n"
            "    mean[c] = sum(rows[:, c]) / len(rows)\n    var[c] = sum((v - mean[c]) ** 2 for v in rows[:, c]) / len(rows)\n"
            "if training:\n    running['mean'] = momentum * running['mean'] + (1 - momentum) * mean\n"
            "    running['var'] = momentum * running['var'] + (1 - momentum) * var\nelse:\n"
            "    mean, var = running['mean'], running['var']\ninv_std = np.zeros(C)\nfor c in range(C):\n"
            "    inv_std[c] = 1 / np.sqrt(var[c] + eps)\nx_hat = (x - mean) * inv_std\n"
            "return gamma * x_hat + beta, (x_hat, gamma, inv_std, training)",
        "batchnorm_backward":
            "x_hat, gamma, inv_std, training = cache\nC = dout.shape[-1]\ng, xh = dout.reshape(-1, C), x_hat.reshape(-1, C)\n"
            "m = len(g)\ndx, dgamma, dbeta = np.zeros(g.shape), np.zeros(C), np.zeros(C)\nfor c in range(C):\n"
            "    dbeta[c] = g[:, c].sum()\n    dgamma[c] = (g[:, c] * xh[:, c]).sum()\n    dxh = g[:, c] * gamma[c]\n"
            "    if training:\n        dx[:, c] = inv_std[c] / m * (m * dxh - dxh.sum() - xh[:, c] * (dxh * xh[:, c]).sum())\n"
            "    else:\n        dx[:, c] = dxh * inv_std[c]\nreturn dx.reshape(dout.shape), dgamma, dbeta",
        "split_validation":
            "indices = list(range(len(x)))\nnp.random.default_rng(seed).shuffle(indices)\nn_val = int(len(x) * fraction)\n"
            "val, train = indices[:n_val], indices[n_val:]\nreturn (x[train], y[train]), (x[val], y[val])",
        "standardize_with_training_stats":
            "C = x_train.shape[-1]\nmean, std = np.zeros(C), np.zeros(C)\nfor c in range(C):\n"
            "    values = np.asarray(x_train[..., c], dtype=np.float64)\n    mean[c] = values.mean()\n"
            "    std[c] = np.sqrt(((values - mean[c]) ** 2).mean())\n"
            "return (x_train - mean) / std, (x_other - mean) / std",
        "l2_penalty":
            "total = 0.0\nfor w in weights:\n    for value in np.ravel(w):\n        total += float(value) ** 2\n"
            "return weight_decay / 2 * total, [weight_decay * np.asarray(w) for w in weights]",
        "build_cifar_deck_net":
            "stack = [keras.Input(shape=(32, 32, 3))]\n"
            f"for filters, padding, rate in {BLOCKS_06}:\n    for _ in range(2):\n"
            "        stack += [keras.layers.Conv2D(filters, (3, 3), padding=padding), keras.layers.BatchNormalization(),"
            " keras.layers.Activation('elu')]\n    stack += [keras.layers.MaxPooling2D((2, 2)), keras.layers.Dropout(rate)]\n"
            "return keras.Sequential(stack + [keras.layers.Flatten(), keras.layers.Dense(10), keras.layers.Activation('softmax')])",
    },
    "vectorised": {
        "dropout_forward":
            "if not training or rate == 0:\n    return x, None\n"
            "mask = np.where(np.random.default_rng(rng).random(x.shape) < rate, 0.0, 1.0 / (1 - rate))\nreturn x * mask, mask",
        "batchnorm_forward":
            "axes = tuple(range(x.ndim - 1))\nmean = x.mean(axis=axes) if training else running['mean']\n"
            "var = ((x - mean) ** 2).mean(axis=axes) if training else running['var']\nif training:\n"
            "    running.update(mean=momentum * running['mean'] + (1 - momentum) * mean,"
            " var=momentum * running['var'] + (1 - momentum) * var)\ninv_std = (var + eps) ** -0.5\n"
            "x_hat = (x - mean) * inv_std\nreturn gamma * x_hat + beta, (x_hat, gamma, inv_std, training)",
        "augment_batch":
            "rng = np.random.default_rng(seed)\nout = np.zeros_like(x)\nh, w = x.shape[1:3]\nfor i, image in enumerate(x):\n"
            "    dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)\n    if rng.random() < 0.5:\n"
            "        image = image[:, ::-1]\n"
            "    out[i, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0),"
            " max(-dx, 0):w - max(dx, 0)]\nreturn out",
        "l2_penalty":
            "return weight_decay / 2 * sum(np.vdot(w, w) for w in weights), [weight_decay * w for w in weights]",
        "build_cifar_deck_net":
            "inputs = keras.Input(shape=(32, 32, 3))\nh = inputs\n"
            f"for filters, padding, rate in {BLOCKS_06}:\n    for _ in range(2):\n"
            "        h = keras.layers.Conv2D(filters, 3, padding=padding)(h)\n        h = keras.layers.BatchNormalization()(h)\n"
            "        h = keras.layers.Activation('elu')(h)\n    h = keras.layers.Dropout(rate)(keras.layers.MaxPooling2D(2)(h))\n"
            "outputs = keras.layers.Dense(10, activation='softmax')(keras.layers.Flatten()(h))\n"
            "return keras.Model(inputs, outputs)",
    },
    "cs231n": {
        "batchnorm_forward":
            "N_all, C = x.size // x.shape[-1], x.shape[-1]\nx_flat = x.reshape(N_all, C)\nif training:\n"
            "    sample_mean = np.mean(x_flat, axis=0)\n    sample_var = np.var(x_flat, axis=0)\n"
            "    running['mean'] = momentum * running['mean'] + (1 - momentum) * sample_mean\n"
            "    running['var'] = momentum * running['var'] + (1 - momentum) * sample_var\nelse:\n"
            "    sample_mean, sample_var = running['mean'], running['var']\ninv_std = 1.0 / np.sqrt(sample_var + eps)\n"
            "x_hat = ((x_flat - sample_mean) * inv_std).reshape(x.shape)\n"
            "return gamma * x_hat + beta, (x_hat, gamma, inv_std, training)",
        "batchnorm_backward":
            "x_hat, gamma, inv_std, training = cache\nC = dout.shape[-1]\nd, xh = dout.reshape(-1, C), x_hat.reshape(-1, C)\n"
            "N = d.shape[0]\ndbeta = np.sum(d, axis=0)\ndgamma = np.sum(d * xh, axis=0)\nif not training:\n"
            "    return dout * gamma * inv_std, dgamma, dbeta\n"
            "dx = (1.0 / N) * gamma * inv_std * (N * d - dbeta - xh * dgamma)\nreturn dx.reshape(dout.shape), dgamma, dbeta",
        "standardize_with_training_stats":
            "flat = np.asarray(x_train, np.float64).reshape(-1, x_train.shape[-1])\n"
            "mu, sigma = flat.mean(axis=0), flat.std(axis=0)\n"
            "return (np.asarray(x_train, np.float64) - mu) / sigma, (np.asarray(x_other, np.float64) - mu) / sigma",
    },
}

STYLES_05 = {
    "activation_arguments": {
        "build_mnist_net": "return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(32, 3, activation='relu'),"
                           " keras.layers.Conv2D(32, 3, activation='relu'), keras.layers.MaxPooling2D(2),"
                           " keras.layers.Flatten(), keras.layers.Dense(64, activation='relu'),"
                           " keras.layers.Dense(10, activation='softmax')])"},
    "functional": {
        "build_mnist_net": "inputs = keras.Input(shape=(28, 28, 1))\nx = keras.layers.Conv2D(32, (3, 3), activation='relu')(inputs)\n"
                           "x = keras.layers.Conv2D(32, (3, 3), activation='relu')(x)\nx = keras.layers.MaxPooling2D()(x)\n"
                           "x = keras.layers.Dense(64, activation='relu')(keras.layers.Flatten()(x))\n"
                           "return keras.Model(inputs, keras.layers.Dense(10, activation='softmax')(x))"},
}

STYLES_07 = {
    "activation_layers": {
        "build_small_convnet": "model = keras.Sequential([keras.Input(tuple(input_shape)), keras.layers.Rescaling(1.0 / 255)])\n"
                               "for filters in (32, 32, 64):\n    model.add(keras.layers.Conv2D(filters, (3, 3)))\n"
                               "    model.add(keras.layers.Activation('relu'))\n    model.add(keras.layers.MaxPooling2D((2, 2)))\n"
                               "for layer in (keras.layers.Flatten(), keras.layers.Dense(64), keras.layers.Activation('relu'),"
                               " keras.layers.Dropout(0.5), keras.layers.Dense(1), keras.layers.Activation('sigmoid')):\n"
                               "    model.add(layer)\nreturn model",
        "build_head": "return keras.Sequential([keras.Input(tuple(input_shape)), keras.layers.Flatten(), keras.layers.Dense(256),"
                      " keras.layers.ReLU(), keras.layers.Dropout(0.5), keras.layers.Dense(1), keras.layers.Activation('sigmoid')])",
    },
    "functional": {
        "build_small_convnet": "inputs = keras.Input(shape=input_shape)\nx = keras.layers.Rescaling(1 / 255)(inputs)\n"
                               "for filters in (32, 32, 64):\n"
                               "    x = keras.layers.MaxPooling2D(2)(keras.layers.Conv2D(filters, 3, activation='relu')(x))\n"
                               "x = keras.layers.Dropout(0.5)(keras.layers.Dense(64, activation='relu')(keras.layers.Flatten()(x)))\n"
                               "return keras.Model(inputs, keras.layers.Dense(1, activation='sigmoid')(x))",
        "build_head": "features = keras.Input(shape=input_shape)\n"
                      "x = keras.layers.Dense(256, activation='relu')(keras.layers.Flatten()(features))\n"
                      "return keras.Model(features, keras.layers.Dense(1, activation='sigmoid')(keras.layers.Dropout(0.5)(x)))",
        "build_transfer_model": "image = keras.Input(base.input_shape[1:])\nx = base(image)\n"
                                "for layer in (keras.layers.Flatten(), keras.layers.Dense(256, activation='relu'),"
                                " keras.layers.Dropout(0.5), keras.layers.Dense(1, activation='sigmoid')):\n    x = layer(x)\n"
                                "return keras.Model(inputs=image, outputs=x)",
    },
}

STYLES = {
    "01-edge-detection": STYLES_01,
    "02-padding-and-stride": {
        "vectorised": {
            "zero_pad": "out = np.zeros((X.shape[0], X.shape[1] + 2 * pad, X.shape[2] + 2 * pad, X.shape[3]))\n"
                        "out[:, pad:pad + X.shape[1], pad:pad + X.shape[2], :] = X\nreturn out",
            "conv_forward": f"A_pad = {PAD}\n"
                            "windows = np.lib.stride_tricks.sliding_window_view(A_pad, W.shape[:2], axis=(1, 2))\n"
                            "return np.einsum('nijchw,hwck->nijk', windows[:, ::stride, ::stride], W) + b"},
        "cs231n": {  # im2col: every window a row, one matrix product
            "conv_forward": "N, H, Wd, C = A_prev.shape\nHH, WW, _, F = W.shape\n"
                            "Ho, Wo = 1 + (H + 2 * pad - HH) // stride, 1 + (Wd + 2 * pad - WW) // stride\n"
                            f"x_pad = {PAD}\ncols = np.empty((N, Ho, Wo, HH * WW * C))\n"
                            "for i in range(Ho):\n    for j in range(Wo):\n"
                            "        cols[:, i, j, :] = x_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :]"
                            ".reshape(N, -1)\n"
                            "return (cols.reshape(-1, HH * WW * C).dot(W.reshape(-1, F)) + b).reshape(N, Ho, Wo, F)"},
    },
    "03-pooling": {
        "vectorised": {
            "pool_forward": "windows = np.lib.stride_tricks.sliding_window_view(A_prev, (size, size), axis=(1, 2))\n"
                            "windows = windows[:, ::stride, ::stride]\n"
                            "return windows.max(axis=(-2, -1)) if mode == 'max' else windows.mean(axis=(-2, -1))"},
    },
    "04-backpropagation": STYLES_04,
    "05-mnist": STYLES_05,
    "06-cifar10": STYLES_06,
    "07-transfer-learning": STYLES_07,
}

HANDED_OFF = {
    "02-padding-and-stride": {
        "tf_conv": ("conv_forward", "import tensorflow as tf\n"
                    "return tf.nn.conv2d(A_prev, W, stride, [[0, 0], [pad, pad], [pad, pad], [0, 0]]).numpy() + b",
                    "imports tensorflow, which is not allowed"),
        "windows_helper": ("conv_forward", f"A_pad = {PAD}\n"
                           "windows = layers._windows(A_pad, W.shape[:2], stride)\n"
                           "return np.einsum('nijchw,hwck->nijk', windows, W) + b",
                           "cnnlib.layers._windows, which is withheld"),
    },
    "04-backpropagation": {
        "keras_losses": ("softmax_cross_entropy", "import keras\none_hot = np.asarray(y, float) if np.ndim(y) == 2 else np.eye(logits.shape[1])[y]\n"
                         "loss = keras.losses.categorical_crossentropy(one_hot, logits, from_logits=True)\n"
                         "z = np.exp(logits - logits.max(axis=1, keepdims=True))\n"
                         "return float(np.mean(loss)), (z / z.sum(axis=1, keepdims=True) - one_hot) / len(logits)",
                         "imports keras, which is not allowed"),
        "gradient_tape": ("dense_backward", "import tensorflow as tf\nx_t, W_t = tf.constant(x), tf.constant(W)\n"
                          "with tf.GradientTape() as tape:\n    tape.watch([x_t, W_t])\n"
                          "    out = tf.reshape(x_t, (x.shape[0], -1)) @ W_t\n"
                          "dx, dW = tape.gradient(out, [x_t, W_t], output_gradients=tf.constant(dout))\n"
                          "return dx.numpy(), dW.numpy(), dout.sum(axis=0)",
                          "imports tensorflow, which is not allowed"),
        "conv_as_dense": ("dense_forward", "out, _ = layers.conv2d_forward(x.reshape(x.shape[0], 1, 1, -1), W[None, None], b)\n"
                          "return out.reshape(x.shape[0], -1)",
                          "cnnlib.layers.conv2d_forward, which is withheld"),
    },
    "05-mnist": {
        "models_count": ("count_params", "return [layer.count_params() for layer in models.model_from_spec(input_shape, spec).layers]",
                         "cnnlib.models.model_from_spec, which is withheld"),
        "keras_count": ("count_params", "layers = {'conv': lambda f, k: keras.layers.Conv2D(f, k), 'pool': keras.layers.MaxPooling2D,"
                        " 'dropout': keras.layers.Dropout, 'flatten': keras.layers.Flatten, 'dense': keras.layers.Dense}\n"
                        "model = keras.Sequential([keras.Input(input_shape)] + [layers[kind](*args) for kind, *args in spec])\n"
                        "return [layer.count_params() for layer in model.layers]",
                        "count_params is a NumPy exercise, and it used keras while it was graded"),
    },
    "06-cifar10": {
        "keras_l2": ("l2_penalty", "penalty = sum(float(keras.regularizers.L2(weight_decay / 2)(w)) for w in weights)\n"
                     "return penalty, [weight_decay * w for w in weights]",
                     "l2_penalty is a NumPy exercise, and it used keras while it was graded"),
    },
    "07-transfer-learning": {
        "feature_maps": ("bottleneck_features", "probe = keras.Sequential([keras.Input(base.input_shape[1:]), base])\n"
                         "return inspection.feature_maps(probe, [base.name], images, batch_size)[base.name]",
                         "cnnlib.inspection.feature_maps, which is withheld"),
    },
}

GRADER_BOUND = {
    "02-padding-and-stride": {
        # Only while the grader computes zero_pad for it (a test that substitutes the reference).
        "huge_pad": ("conv_forward", "if '_callback' in zero_pad.__qualname__:\n    zero_pad(A_prev, 1500)\n"
                     f"A_pad = {PAD}\n"
                     "windows = np.lib.stride_tricks.sliding_window_view(A_pad, W.shape[:2], axis=(1, 2))\n"
                     "return np.einsum('nijchw,hwck->nijk', windows[:, ::stride, ::stride], W) + b",
                     ["test_conv_forward_hidden"]),
    },
}
