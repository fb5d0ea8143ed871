"""cnnlib: the course's shared library.

Modules, one concern each:

- ``cnnlib.layers``: reference NumPy layers (NHWC, Keras weight layouts), forward and backward.
- ``cnnlib.gradcheck``: numerical gradients and relative errors.
- ``cnnlib.optim``: NumPy optimizer steps (Adam) and the L2 weight-decay term, as Keras computes them.
- ``cnnlib.data``: MNIST and CIFAR-10 loaders (local copies, Keras' cache or download) and scaling.
- ``cnnlib.mode``: the fast/full switch for notebooks that train.
- ``cnnlib.viz``: plotting helpers (images, kernels as annotated matrices, feature maps).
- ``cnnlib.widgets``: ipywidgets explorers (kernel editor, padding/stride sliding window, pooling)
  and ``KERNEL_PRESETS``.
- ``cnnlib.inspection``: what a trained CNN learns (kernels, feature maps, top patches, saliency).
- ``cnnlib.transfer``: the cats-and-dogs data, the pretrained 8-class base, transfer-learning helpers.
- ``cnnlib.quiet_tf``: TensorFlow and Keras imported without their start-up noise.

Importing ``cnnlib`` is cheap: TensorFlow is only imported by the modules that need it.
"""

from cnnlib.quiet_tf import quiet_tensorflow_logs

quiet_tensorflow_logs()
