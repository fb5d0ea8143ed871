"""Correct solutions written independently, in three styles each (loops, vectorised, CS231n's),
for measuring the copy detector: none may be flagged against the course's reference or each other."""

INDEPENDENT = {
    "correlate2d": [
        '''
def correlate2d(image, kernel):
    kh, kw = kernel.shape
    H, W = image.shape
    out = np.empty((H - kh + 1, W - kw + 1))
    for r in range(H - kh + 1):
        for c in range(W - kw + 1):
            total = 0.0
            for u in range(kh):
                for v in range(kw):
                    total += image[r + u, c + v] * kernel[u, v]
            out[r, c] = total
    return out
''',
        '''
def correlate2d(image, kernel):
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)
    return np.einsum("ijuv,uv->ij", windows, kernel).astype(float)
''',
        '''
def correlate2d(image, kernel):
    HH, WW = kernel.shape
    H_out = 1 + (image.shape[0] - HH)
    W_out = 1 + (image.shape[1] - WW)
    out = np.zeros((H_out, W_out))
    w_row = kernel.reshape(-1)
    for i in range(H_out):
        for j in range(W_out):
            x_col = image[i:i + HH, j:j + WW].reshape(-1)
            out[i, j] = x_col.dot(w_row)
    return out
'''],
    "conv_forward": [
        '''
def conv_forward(A_prev, W, b, stride, pad):
    m, h_prev, w_prev, c_prev = A_prev.shape
    fh, fw, _, n_c = W.shape
    padded = np.zeros((m, h_prev + 2 * pad, w_prev + 2 * pad, c_prev))
    padded[:, pad:pad + h_prev, pad:pad + w_prev, :] = A_prev
    n_h = int((h_prev + 2 * pad - fh) / stride) + 1
    n_w = int((w_prev + 2 * pad - fw) / stride) + 1
    Z = np.zeros((m, n_h, n_w, n_c))
    for example in range(m):
        for h in range(n_h):
            top = h * stride
            for w in range(n_w):
                left = w * stride
                for c in range(n_c):
                    acc = b[c]
                    for p in range(fh):
                        for q in range(fw):
                            for d in range(c_prev):
                                acc += padded[example, top + p, left + q, d] * W[p, q, d, c]
                    Z[example, h, w, c] = acc
    return Z
''',
        '''
def conv_forward(A_prev, W, b, stride, pad):
    padded = np.pad(A_prev, [(0, 0), (pad, pad), (pad, pad), (0, 0)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, W.shape[:2], axis=(1, 2))
    windows = windows[:, ::stride, ::stride]
    return np.einsum("nhwcpq,pqcf->nhwf", windows, W) + b
''',
        '''
def conv_forward(A_prev, W, b, stride, pad):
    N, H, Wd, C = A_prev.shape
    HH, WW, _, F = W.shape
    x_pad = np.pad(A_prev, ((0,), (pad,), (pad,), (0,)), mode="constant")
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (Wd + 2 * pad - WW) // stride
    out = np.zeros((N, H_out, W_out, F))
    w_row = W.reshape(-1, F)
    for i in range(H_out):
        for j in range(W_out):
            x_col = x_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :].reshape(N, -1)
            out[:, i, j, :] = x_col.dot(w_row) + b
    return out
'''],
    "pool_forward": [
        '''
def pool_forward(A_prev, size, stride, mode="max"):
    m, h_in, w_in, channels = A_prev.shape
    h_out = 1 + (h_in - size) // stride
    w_out = 1 + (w_in - size) // stride
    result = np.zeros((m, h_out, w_out, channels))
    for n in range(m):
        for row in range(h_out):
            for col in range(w_out):
                for ch in range(channels):
                    patch = A_prev[n, row * stride:row * stride + size, col * stride:col * stride + size, ch]
                    if mode == "max":
                        result[n, row, col, ch] = patch.max()
                    else:
                        result[n, row, col, ch] = patch.sum() / patch.size
    return result
''',
        '''
def pool_forward(A_prev, size, stride, mode="max"):
    windows = np.lib.stride_tricks.sliding_window_view(A_prev, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return windows.max(axis=(-2, -1)) if mode == "max" else windows.mean(axis=(-2, -1))
''',
        '''
def pool_forward(A_prev, size, stride, mode="max"):
    N, H, W, C = A_prev.shape
    H_out = 1 + (H - size) // stride
    W_out = 1 + (W - size) // stride
    out = np.zeros((N, H_out, W_out, C))
    for i in range(H_out):
        for j in range(W_out):
            x_window = A_prev[:, i * stride:i * stride + size, j * stride:j * stride + size, :].reshape(N, -1, C)
            out[:, i, j, :] = np.max(x_window, axis=1) if mode == "max" else np.mean(x_window, axis=1)
    return out
'''],
    "conv_backward": [
        '''
def conv_backward(dZ, A_prev, W, stride, pad):
    m, h, w, c = A_prev.shape
    fh, fw, _, k = W.shape
    padded = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    d_padded = np.zeros_like(padded, dtype=float)
    dW = np.zeros(W.shape)
    db = np.zeros(k)
    for n in range(m):
        for y in range(dZ.shape[1]):
            for x in range(dZ.shape[2]):
                for f in range(k):
                    g = dZ[n, y, x, f]
                    ys, xs = y * stride, x * stride
                    d_padded[n, ys:ys + fh, xs:xs + fw, :] += g * W[..., f]
                    dW[..., f] += g * padded[n, ys:ys + fh, xs:xs + fw, :]
                    db[f] += g
    return d_padded[:, pad:pad + h, pad:pad + w, :], dW, db
''',
        '''
def conv_backward(dZ, A_prev, W, stride, pad):
    padded = np.pad(A_prev, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    fh, fw = W.shape[:2]
    windows = np.lib.stride_tricks.sliding_window_view(padded, (fh, fw), axis=(1, 2))[:, ::stride, ::stride]
    dW = np.einsum("nhwcpq,nhwf->pqcf", windows, dZ)
    d_padded = np.zeros(padded.shape)
    for i in range(dZ.shape[1]):
        for j in range(dZ.shape[2]):
            d_padded[:, i * stride:i * stride + fh, j * stride:j * stride + fw] += np.einsum("pqcf,nf->npqc", W, dZ[:, i, j])
    return d_padded[:, pad:padded.shape[1] - pad, pad:padded.shape[2] - pad], dW, dZ.sum(axis=(0, 1, 2))
''',
        '''
def conv_backward(dZ, A_prev, W, stride, pad):
    N, H, Wd, C = A_prev.shape
    HH, WW, _, F = W.shape
    _, H_out, W_out, _ = dZ.shape
    x_pad = np.pad(A_prev, ((0,), (pad,), (pad,), (0,)), mode="constant")
    dx_pad = np.zeros_like(x_pad, dtype=float)
    dw = np.zeros_like(W, dtype=float)
    db = np.sum(dZ, axis=(0, 1, 2))
    w_row = W.reshape(-1, F)
    for i in range(H_out):
        for j in range(W_out):
            x_col = x_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :].reshape(N, -1)
            dw += x_col.T.dot(dZ[:, i, j, :]).reshape(W.shape)
            dx_pad[:, i * stride:i * stride + HH, j * stride:j * stride + WW, :] += dZ[:, i, j, :].dot(w_row.T).reshape(N, HH, WW, C)
    return dx_pad[:, pad:pad + H, pad:pad + Wd, :], dw, db
'''],
}
