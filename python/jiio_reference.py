"""Python reference for the JIIO Workbench's shipped models.

Runs a checkpoint written by the C++ program (models/*.pt) in plain PyTorch,
and restores images the way `jiio restore` does by default (JIIO-Anderson,
the model's own budget and tolerance, tiling, the same clamp/quantisation):

    import jiio_reference as jr
    model = jr.load("models/restore-rgb.pt")
    image, info = jr.read_image("noisy.png")          # [C, H, W] float in [0, 1]
    out = jr.restore(model, image, sigma=25)          # or mask=jr.read_mask("mask.png")
    jr.write_image("restored.png", out.image, depth=info["depth"], alpha=info["alpha"])

Supported: every kind loads (configuration checked, every tensor matched);
restoration models restore (image priors such as restore-rgb.pt with or
without conditioning maps, latent models such as restore-rgb-latent.pt,
observation-conditioned latent models). The forward pieces (inject, f,
readout, pooled features and logits) exist for every kind, but the solves
of the other commands (generate, attack, classify, meta) are not mirrored.
Uses numpy, torch and OpenCV's Python bindings (Debian: python3-torch,
python3-opencv); images are read and written with OpenCV as the program does.

The C++ sources this mirrors: core/models/{model_config,deq_model}.cpp,
core/jiio/jiio_solver.cpp, core/solvers/{anderson,anderson_history,
solve_tracker}.cpp and core/tasks/restoration/*.cpp.
"""

import math
import re
import time

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "ReferenceError", "Model", "DeqModel", "Layout", "RestoreResult",
    "parse_config", "load", "restore", "read_image", "read_mask", "write_image", "quantize",
]


class ReferenceError(RuntimeError):
    """A checkpoint, image or request this reference cannot handle (the message says why)."""


# --------------------------------------------------------------------------
# Configuration (core/models/model_config.cpp)
# --------------------------------------------------------------------------

FORMAT_TAG = "jiio-model-1"
KINDS = ("restoration", "generative", "classifier", "fewshot")

# The defaults of ModelConfig{}: a file written before a key existed loads
# with these (restore-rgb-latent.pt has no observation_injection line).
_DEFAULTS = {
    "kind": "restoration", "image_channels": 3, "width": 16, "scales": 2, "latent_channels": 8,
    "latent_stride": 4, "image_size": 32, "groups": 4, "weight_norm": True, "tile_size": 128,
    "tile_overlap": 16, "jiio_iterations": 30, "prior_weight": 1e-3, "observation_injection": False,
    "image_input": False, "prior_conditioning": False, "classes": 10, "class_embedding": 0,
}
_INT_KEYS = ("image_channels", "width", "scales", "latent_channels", "latent_stride", "image_size", "groups",
             "tile_size", "tile_overlap", "jiio_iterations", "classes", "class_embedding")
_BOOL_KEYS = ("weight_norm", "observation_injection", "image_input", "prior_conditioning")
# std::from_chars with an optional leading '+' (numbers.cpp): no spaces, no
# underscores, no locale, whatever Python's int()/float() would accept.
_INT_RE = re.compile(r"\+?-?[0-9]+\Z")
_FLOAT_RE = re.compile(r"\+?-?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)\Z",
                       re.IGNORECASE)


def _to_int(key, value):
    if not _INT_RE.match(value):
        raise ReferenceError("model configuration: '%s' is not an integer" % key)
    number = int(value.lstrip("+"))
    if not -2**31 <= number < 2**31:
        raise ReferenceError("model configuration: '%s' is not an integer" % key)
    return number


def _to_float(key, value):
    if not _FLOAT_RE.match(value):
        raise ReferenceError("model configuration: '%s' is not a number" % key)
    return float(value.lstrip("+"))


def alignment(config):
    """Spatial sizes must be multiples of this (ModelConfig::alignment)."""
    pyramid = 1 << (config["scales"] - 1)
    if config["kind"] == "restoration":
        return pyramid * config["latent_stride"] // math.gcd(pyramid, config["latent_stride"])
    return pyramid


def task_vector_size(config):
    return config["latent_channels"] + (config["classes"] * config["class_embedding"]
                                        if config["kind"] == "fewshot" else 0)


def _validate(c):
    def require(ok, what):
        if not ok:
            raise ReferenceError("model configuration: " + what)
    align = alignment(c) if 1 <= c["scales"] <= 4 and c["latent_stride"] >= 1 else 1
    require(c["image_channels"] in (1, 3), "image channels must be 1 or 3")
    require(2 <= c["width"] <= 1024, "width must be in [2, 1024]")
    require(1 <= c["scales"] <= 4, "scales must be in [1, 4]")
    require(1 <= c["latent_channels"] <= 1024, "latent channels must be in [1, 1024]")
    require(1 <= c["latent_stride"] <= 64, "latent stride must be in [1, 64]")
    require(c["groups"] >= 1 and c["width"] % c["groups"] == 0, "width must be a multiple of the group count")
    require((c["width"] << (c["scales"] - 1)) <= 2048, "the coarsest scale may have at most 2048 channels")
    require(16 <= c["tile_size"] <= 4096 and c["tile_size"] % align == 0,
            "tile size must be in [16, 4096] and a multiple of %d" % align)
    require(c["tile_overlap"] >= 0 and 2 * c["tile_overlap"] < c["tile_size"],
            "tile overlap must be under half the tile size")
    require(4 <= c["image_size"] <= 1024 and c["image_size"] % align == 0,
            "image size must be in [4, 1024] and a multiple of the alignment")
    require(1 <= c["jiio_iterations"] <= 100000, "JIIO iterations must be in [1, 100000]")
    require(c["prior_weight"] >= 0, "prior weight must be non-negative")
    restoration = c["kind"] == "restoration"
    require(not c["observation_injection"] or restoration, "only restoration models can be conditioned on an image")
    require(not c["image_input"] or restoration, "only restoration models can take the image as input")
    require(not (c["image_input"] and c["observation_injection"]),
            "a model whose input is the image sees the observation through the objective, not as conditioning")
    require(not c["prior_conditioning"] or c["image_input"],
            "only a model whose input is the image has a conditioned prior")
    require(not c["image_input"] or (c["latent_channels"] == c["image_channels"] and c["latent_stride"] == 1),
            "a model whose input is the image needs latent channels = image channels and latent stride 1")
    require(c["kind"] != "classifier" or (c["latent_channels"] == c["image_channels"] and c["latent_stride"] == 1),
            "a classifier's input is a perturbation of the image: latent channels = image channels, stride 1")
    require(c["kind"] != "fewshot" or c["latent_stride"] == 1, "a few-shot model's input is a task vector: stride 1")
    require(0 <= c["class_embedding"] <= 1024, "class embedding size must be in [0, 1024]")
    require(c["class_embedding"] == 0 or c["kind"] == "fewshot", "only few-shot models have class embeddings")
    require(2 <= c["classes"] <= 1000, "classes must be in [2, 1000]")


def parse_config(text):
    """The `jiio_config` text of a checkpoint as a dict of typed values (ModelConfig::fromText).

    Keys are the file's own (snake_case); `provenance` is a dict of strings.
    """
    config = dict(_DEFAULTS)
    config["provenance"] = {}
    saw_format = False
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition(" = ")
        if not sep:
            raise ReferenceError("model configuration: malformed line '%s'" % line)
        if key == "format":
            if value != FORMAT_TAG:
                raise ReferenceError("model configuration: unsupported format '%s'" % value)
            saw_format = True
        elif key == "kind":
            if value not in KINDS:
                raise ReferenceError("model configuration: unknown model kind '%s'" % value)
            config["kind"] = value
        elif key in _INT_KEYS:
            config[key] = _to_int(key, value)
        elif key in _BOOL_KEYS:
            config[key] = _to_int(key, value) != 0
        elif key == "prior_weight":
            config[key] = _to_float(key, value)
        elif key.startswith("provenance."):
            config["provenance"][key[len("provenance."):]] = value
        else:
            raise ReferenceError("model configuration: unknown key '%s'" % key)
    if not saw_format:
        raise ReferenceError("model configuration: missing format tag")
    _validate(config)
    return config


# --------------------------------------------------------------------------
# The model (core/models/deq_model.cpp)
# --------------------------------------------------------------------------

def _suggest_memory_format(t):
    """at::Tensor::suggest_memory_format(): the C++ convolutions take their
    weight in the input's layout, which picks oneDNN's kernel; doing the same
    keeps the reference's arithmetic that of the program."""
    if t.dim() != 4:
        return torch.contiguous_format
    sizes, strides = t.shape, t.stride()
    if strides[1] == 0:
        return torch.contiguous_format
    low = 0
    for d in (1, 3, 2, 0):
        if sizes[d] == 0 or strides[d] < low:
            return torch.contiguous_format
        if d == 0 and low == strides[1]:
            return torch.contiguous_format
        low = strides[d] * (sizes[d] if sizes[d] > 1 else 1)
    return torch.channels_last


def _resize(image, height, width):
    if image.shape[2] == height and image.shape[3] == width:
        return image
    return F.interpolate(image, size=(height, width), mode="bilinear", align_corners=False)


def _channels_last_view(flat, channels, height, width):
    """A flat [B, H*W*C] block as an NCHW-shaped view (how the program holds z and x)."""
    return flat.view(flat.shape[0], height, width, channels).permute(0, 3, 1, 2)


def _flatten_channels_last(image):
    return image.permute(0, 2, 3, 1).reshape(image.shape[0], -1)


class Conv(nn.Module):
    """3x3 (or 1x1) convolution, weight-normalised as w = g * v / |v| with the
    norm over each output channel's (in, kh, kw) and clamped at 1e-12."""

    def __init__(self, cin, cout, kernel, stride, weight_norm):
        super().__init__()
        self.stride, self.padding, self.weight_norm = stride, kernel // 2, weight_norm
        self.bias = nn.Parameter(torch.zeros(cout))
        if weight_norm:
            self.g = nn.Parameter(torch.ones(cout))
            self.v = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        else:
            self.weight = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        self._cache = None

    def effective_weight(self):
        # Parameters are constants in a solve: compute w once, again only
        # when a parameter changed (the program's FrozenParameters does so too).
        params = (self.v, self.g) if self.weight_norm else (self.weight,)
        key = tuple((p.data_ptr(), p._version) for p in params)
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                if self.weight_norm:
                    norm = self.v.flatten(1).norm(2, 1).clamp_min(1e-12)
                    weight = self.v * (self.g / norm).view(-1, 1, 1, 1)
                else:
                    weight = self.weight.detach()
            self._cache = (key, weight)
        return self._cache[1]

    def forward(self, x):
        weight = self.effective_weight().contiguous(memory_format=_suggest_memory_format(x))
        return F.conv2d(x, weight, self.bias.detach(), self.stride, self.padding)


class Layout:
    """StateLayout: the shapes of the flat state z [B, z_size] (each scale
    channels-last) and input x [B, latent_size] for one image size, and the
    conditioning pooled to every scale."""

    def __init__(self, height, width):
        self.height, self.width = height, width
        self.z_shapes, self.latent_shape, self.conditioning = [], [], []
        self.z_size = self.latent_size = 0


CLASSIFIER_POOL_SIDE = 7


class DeqModel(nn.Module):
    """The multiscale DEQ: cell f(z, x), injection, readout h(z, x). Parameter
    names are those of the checkpoint (inject0.v, fuse0to2.2.g, ...)."""

    def __init__(self, config):
        super().__init__()
        c = self.config = config
        scales, wn = c["scales"], c["weight_norm"]
        few_shot = c["kind"] == "fewshot"
        grid_channels = c["image_channels"] if few_shot else c["latent_channels"]
        if c["kind"] == "generative":
            side = c["image_size"] // c["latent_stride"]
            self.code_to_grid = nn.Linear(c["latent_channels"], grid_channels * side * side)
        for s in range(scales):
            ch = self.channels_at(s)
            self.add_module("inject%d" % s, Conv(grid_channels, ch, 3, 1, wn))
            if c["observation_injection"]:  # the name shipped files use
                self.add_module("observe%d" % s, Conv(self.conditioning_channels(), ch, 3, 1, wn))
            if c["prior_conditioning"]:
                self.add_module("condition%d" % s, Conv(self.conditioning_channels(), ch, 3, 1, wn))
            if few_shot:
                self.add_module("film%d" % s, nn.Linear(c["latent_channels"], 2 * ch))
            self.add_module("conv1_%d" % s, Conv(ch, ch, 3, 1, wn))
            self.add_module("conv2_%d" % s, Conv(ch, ch, 3, 1, wn))
        for s in range(scales):
            for t in range(scales):
                if t == s:
                    continue
                path = []
                if t < s:  # stride-2 convolutions, ELU between them
                    for step in range(t, s):
                        out = self.channels_at(s) if step + 1 == s else self.channels_at(t)
                        path.append(Conv(self.channels_at(t), out, 3, 2, wn))
                        if step + 1 < s:
                            path.append(nn.ELU())
                else:  # 1x1 channel map; the bilinear resize happens in cell()
                    path.append(Conv(self.channels_at(t), self.channels_at(s), 1, 1, wn))
                self.add_module("fuse%dto%d" % (t, s), nn.Sequential(*path))
        if few_shot:
            self.task_init = nn.Parameter(torch.zeros(task_vector_size(c)))
        if c["kind"] in ("classifier", "fewshot"):
            features = sum(self.channels_at(s) for s in range(scales)) * CLASSIFIER_POOL_SIDE ** 2
            if c["class_embedding"] > 0:
                self.class_projection = nn.Linear(features, c["class_embedding"])
            else:
                self.classifier_head = nn.Linear(features, c["classes"])
            return
        for s in range(1, scales):
            self.add_module("readout_lift%d" % s, Conv(self.channels_at(s), self.channels_at(0), 1, 1, wn))
        self.readout_conv = Conv(self.channels_at(0), self.channels_at(0), 3, 1, wn)
        self.readout_norm = nn.GroupNorm(c["groups"], self.channels_at(0))
        self.readout_out = Conv(self.channels_at(0), c["image_channels"], 3, 1, wn)

    def channels_at(self, scale):
        return self.config["width"] << scale

    def conditioning_channels(self):
        c = self.config
        if c["kind"] in ("classifier", "fewshot"):
            return c["image_channels"]
        if c["prior_conditioning"]:
            return 2  # known-pixel mask, noise level
        return c["image_channels"] + 2 if c["observation_injection"] else 0

    def _child(self, name):
        return self._modules[name]

    def layout(self, height, width, conditioning=None):
        """Shapes for an image size; `conditioning` [B, conditioning_channels(), H, W]
        for models that take one (the clean images of a classifier or few-shot model)."""
        c = self.config
        align = alignment(c)
        if height % align or width % align:
            raise ReferenceError("image size %dx%d is not a multiple of %d" % (height, width, align))
        lay = Layout(height, width)
        for s in range(c["scales"]):
            shape = (self.channels_at(s), height >> s, width >> s)
            lay.z_shapes.append(shape)
            lay.z_size += shape[0] * shape[1] * shape[2]
        if c["kind"] == "fewshot":
            lay.latent_shape = (task_vector_size(c),)
        elif c["kind"] == "generative":
            lay.latent_shape = (c["latent_channels"],)
        else:
            lay.latent_shape = (c["latent_channels"], height // c["latent_stride"], width // c["latent_stride"])
        lay.latent_size = int(np.prod(lay.latent_shape))
        if self.conditioning_channels() == 0 or conditioning is None:
            return lay
        if tuple(conditioning.shape[1:]) != (self.conditioning_channels(), height, width):
            raise ReferenceError("the conditioning image must be [B, %d, %d, %d], not %s"
                                 % (self.conditioning_channels(), height, width, list(conditioning.shape)))
        features = conditioning.contiguous(memory_format=torch.channels_last)
        if c["kind"] in ("classifier", "fewshot"):
            lay.conditioning = [features]
            return lay
        lay.conditioning = [features if s == 0 else F.avg_pool2d(features, 1 << s) for s in range(c["scales"])]
        return lay

    def unpack(self, z, lay):
        parts = torch.split(z, [s[0] * s[1] * s[2] for s in lay.z_shapes], 1)
        return [_channels_last_view(p, *shape) for p, shape in zip(parts, lay.z_shapes)]

    def latent_grid(self, latent, lay):
        c = self.config
        if c["kind"] == "generative":
            side = c["image_size"] // c["latent_stride"]
            grid = F.linear(latent, self.code_to_grid.weight.detach(), self.code_to_grid.bias.detach())
            return grid.view(latent.shape[0], c["latent_channels"], side, side).contiguous(
                memory_format=torch.channels_last)
        grid = _channels_last_view(latent, *lay.latent_shape)
        if c["kind"] == "classifier":
            if not lay.conditioning:
                raise ReferenceError("a classifier needs its clean images: pass them to layout()")
            return lay.conditioning[0] + grid
        return grid

    def inject(self, latent, lay):
        """Per-scale input injection for a flat latent batch [B, latent_size]."""
        c = self.config
        if c["kind"] == "fewshot":
            return self._modulated_injection(latent, lay)
        grid = self.latent_grid(latent, lay)
        injection = [self._child("inject%d" % s)(_resize(grid, lay.z_shapes[s][1], lay.z_shapes[s][2]))
                     for s in range(c["scales"])]
        prefix = "observe" if c["observation_injection"] else "condition" if c["prior_conditioning"] else None
        if prefix:
            if len(lay.conditioning) != len(injection):
                raise ReferenceError("this model is conditioned on an image: pass it to layout()")
            injection = [inj + self._child("%s%d" % (prefix, s))(lay.conditioning[s])
                         for s, inj in enumerate(injection)]
        return injection

    def _modulated_injection(self, task, lay):
        if not lay.conditioning:
            raise ReferenceError("a few-shot model needs its images: pass them to layout()")
        image = lay.conditioning[0]
        context = task.narrow(1, 0, self.config["latent_channels"])
        injection = []
        for s in range(self.config["scales"]):
            ch = self.channels_at(s)
            film_layer = self._child("film%d" % s)
            film = F.linear(context, film_layer.weight.detach(), film_layer.bias.detach()).view(
                task.shape[0], 2 * ch, 1, 1)
            base = self._child("inject%d" % s)(_resize(image, lay.z_shapes[s][1], lay.z_shapes[s][2]))
            injection.append(base * (1 + film.narrow(1, 0, ch)) + film.narrow(1, ch, ch))
        return injection

    def cell(self, z, injection, lay):
        """One application of the cell: z [B, z_size] -> [B, z_size]."""
        scales = self.config["scales"]
        parts = self.unpack(z, lay)
        branch = [self._child("conv2_%d" % s)(F.elu(self._child("conv1_%d" % s)(parts[s]))) for s in range(scales)]
        out = []
        for s in range(scales):
            fused = branch[s] + injection[s]
            for t in range(scales):
                if t != s:
                    moved = self._child("fuse%dto%d" % (t, s))(branch[t])
                    fused = fused + _resize(moved, lay.z_shapes[s][1], lay.z_shapes[s][2])
            out.append(_flatten_channels_last(F.elu(fused)))
        return torch.cat(out, 1)

    def f(self, z, latent, lay):
        return self.cell(z, self.inject(latent, lay), lay)

    def readout(self, z, latent, lay):
        """h(z, x): images [B, C, H, W] in [-1, 1] (a conditioned model adds its
        base image, an image prior adds x), or class logits for a classifier."""
        c = self.config
        parts = self.unpack(z, lay)
        if c["kind"] in ("classifier", "fewshot"):
            features = self.pool_scales(parts)
            if c["class_embedding"] > 0:
                return self._embedding_logits(features, latent)
            return F.linear(features, self.classifier_head.weight.detach(), self.classifier_head.bias.detach())
        u = parts[0]
        for s in range(1, c["scales"]):
            u = u + _resize(self._child("readout_lift%d" % s)(parts[s]), lay.height, lay.width)
        norm = self.readout_norm
        # The program's group norm (core/models/group_norm_elu.cpp) sums in
        # double: PyTorch's float group norm is 100 times less accurate, which
        # a hard solve amplifies.
        v = self.readout_conv(u)
        y = F.elu(F.group_norm(v.double(), c["groups"], norm.weight.detach().double(), norm.bias.detach().double(),
                               norm.eps).to(v.dtype))
        image = self.readout_out(y)
        if c["observation_injection"]:
            if not lay.conditioning:
                raise ReferenceError("this model is conditioned on an image: pass it to layout()")
            image = image + lay.conditioning[0].narrow(1, 0, c["image_channels"])
        if c["image_input"]:
            image = image + self.latent_grid(latent, lay)
        return image.contiguous()

    @staticmethod
    def pool_scales(parts):
        return torch.cat([F.adaptive_avg_pool2d(p, CLASSIFIER_POOL_SIDE).contiguous().flatten(1) for p in parts], 1)

    def _embedding_logits(self, features, task):
        c = self.config
        proj = self.class_projection
        projected = F.normalize(F.linear(features, proj.weight.detach(), proj.bias.detach()), dim=1, eps=1e-6)
        embeddings = task.narrow(1, c["latent_channels"], c["classes"] * c["class_embedding"]).reshape(
            task.shape[0], c["classes"], c["class_embedding"])
        return torch.bmm(embeddings, projected.unsqueeze(2)).squeeze(2)


class Model:
    """What load() returns: the configuration, the module and where it came from."""

    def __init__(self, config, module, path):
        self.config, self.module, self.path = config, module, path

    def __repr__(self):
        return "Model(%r, kind=%s)" % (self.path, self.config["kind"])


def load(path):
    """Reads a checkpoint of the C++ program: its configuration and a DeqModel
    rebuilt from it, every tensor of the file used and every shape checked."""
    try:
        archive = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # not a TorchScript/LibTorch archive
        raise ReferenceError("cannot read model '%s': %s" % (path, str(error).splitlines()[0] if str(error) else
                                                              type(error).__name__))
    text = getattr(archive, "jiio_config", None)
    if not isinstance(text, str):
        raise ReferenceError("cannot read model '%s': it has no JIIO configuration" % path)
    config = parse_config(text)
    module = DeqModel(config)
    stored = {}
    for name, tensor in list(archive.named_parameters()) + list(archive.named_buffers()):
        if name.startswith("model."):
            stored[name[len("model."):]] = tensor
    expected = dict(module.named_parameters())
    missing = sorted(set(expected) - set(stored))
    unused = sorted(set(stored) - set(expected))
    if missing or unused:
        raise ReferenceError("cannot read model '%s': its tensors do not match its configuration (missing: %s; "
                             "not used: %s)" % (path, ", ".join(missing) or "none", ", ".join(unused) or "none"))
    with torch.no_grad():
        for name, param in expected.items():
            if tuple(stored[name].shape) != tuple(param.shape):
                raise ReferenceError("cannot read model '%s': '%s' is %s, the configuration needs %s"
                                     % (path, name, list(stored[name].shape), list(param.shape)))
            param.copy_(stored[name].to(torch.float32))
    module.requires_grad_(False)  # a solve differentiates z and x only
    module.eval()
    return Model(config, module, str(path))


# --------------------------------------------------------------------------
# Restoration objectives and conditioning (core/tasks/restoration/)
# --------------------------------------------------------------------------

REFERENCE_SIGMA = 25.0
DENOISE_WEIGHT_AT_REFERENCE = 3.0
DENOISE_WEIGHT_GROWTH = 1.5
IMAGE_PRIOR_SCALE = 25.0
HOLE_SMOOTHNESS = 0.1


class _LatentObjective:
    """RestorationObjective: 0.5 sum(w (h - y)^2) + 0.5 lambda |x|^2, lambda
    growing as 1 + (sigma/25)^2 for denoising."""

    def __init__(self, task, target, known, prior_weight, sigma):
        self.task, self.target, self.known = task, target, known
        self.prior_weight, self.sigma = prior_weight, 0.0
        if task == "denoise":
            self.prior_weight *= 1.0 + (sigma / REFERENCE_SIGMA) * (sigma / REFERENCE_SIGMA)
            self.sigma = sigma

    @property
    def batch(self):
        return self.target.shape[0]

    def per_sample(self, prediction, latent):
        error = (prediction - self.target).square()
        if self.known is not None:
            error = error * self.known
        value = 0.5 * error.flatten(1).sum(1)
        if self.prior_weight > 0:
            value = value + 0.5 * self.prior_weight * latent.flatten(1).square().sum(1)
        return value

    def project(self, x):
        return x


def _image_laplacian(image):
    """Per channel, mirrored borders: the biharmonic fill's 5-point Laplacian."""
    channels = image.shape[1]
    stencil = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=image.dtype)
    weight = stencil.view(1, 1, 3, 3).expand(channels, 1, 3, 3)
    return F.conv2d(F.pad(image, (1, 1, 1, 1), mode="replicate"), weight, groups=channels)


class _ImagePriorObjective(_LatentObjective):
    """ImagePriorObjective: 25 (sum(w (x - y)^2) + kappa sum((x - D(x))^2)
    + smoothness sum((L x)^2)), kappa = 3 lambda (sigma/25)^1.5 (denoising) or
    lambda (inpainting), smoothness HOLE_SMOOTHNESS for inpainting and 0 for
    denoising; x stays in [-1, 1] and, inpainting, at the observation on known
    pixels. Inpainting delivers x* itself, denoising D(x*)."""

    def __init__(self, task, target, known, prior_weight, sigma):
        super().__init__(task, target, known, prior_weight, sigma)
        growth = (sigma / REFERENCE_SIGMA) ** DENOISE_WEIGHT_GROWTH
        self.kappa = prior_weight * DENOISE_WEIGHT_AT_REFERENCE * growth if task == "denoise" else prior_weight
        self.smoothness = HOLE_SMOOTHNESS if task == "inpaint" else 0.0
        self.target_flat = _flatten_channels_last(target)
        self.fixed_flat = (_flatten_channels_last(known.expand_as(target) > 0.5) if task == "inpaint" else None)

    def input_image(self, x):
        b, c, h, w = self.target.shape
        return x.view(b, h, w, c).permute(0, 3, 1, 2)

    def per_sample(self, prediction, latent):
        x = self.input_image(latent)
        data = (x - self.target).square()
        if self.known is not None:
            data = data * self.known
        prior = (x - prediction).square()
        total = data.flatten(1).sum(1) + self.kappa * prior.flatten(1).sum(1)
        if self.smoothness > 0:
            total = total + self.smoothness * _image_laplacian(x).square().flatten(1).sum(1)
        return IMAGE_PRIOR_SCALE * total

    def restored_image(self, prediction, latent):
        return self.input_image(latent.detach()) if self.task == "inpaint" else prediction

    def project(self, x):
        x = x.clamp(-1, 1)
        if self.fixed_flat is not None:
            x = torch.where(self.fixed_flat, self.target_flat, x)
        return x


def _known_pixels(objective):
    b, _, h, w = objective.target.shape
    if objective.known is not None:
        return objective.known.expand(b, 1, h, w)
    return torch.ones(b, 1, h, w, dtype=objective.target.dtype)


def _push_pull_fill(image, known):
    """Fills unknown pixels by push-pull: block means of known pixels over
    ever coarser grids, then each finer grid keeps its own mean where a
    quarter of it is known and the coarser estimate where less is."""
    mass = [image * known]
    coverage = [known.expand(image.shape[0], 1, image.shape[2], image.shape[3])]
    while mass[-1].shape[2] > 1 or mass[-1].shape[3] > 1:
        mass.append(F.avg_pool2d(mass[-1], 2, ceil_mode=True, count_include_pad=False))
        coverage.append(F.avg_pool2d(coverage[-1], 2, ceil_mode=True, count_include_pad=False))
    estimate = mass[-1] / coverage[-1].clamp_min(1e-12)
    for level in range(len(mass) - 2, -1, -1):
        c = coverage[level]
        coarse = F.interpolate(estimate, size=(c.shape[2], c.shape[3]), mode="bilinear", align_corners=False)
        own = mass[level] / c.clamp_min(1e-12)
        estimate = torch.lerp(coarse, own, (4.0 * c).clamp_max(1.0))
    return estimate


def _laplacian(u):
    """The 5-point Laplacian with reflecting borders, as gridLaplacian() builds
    it: the sum over a pixel's existing neighbours of (neighbour - pixel)."""
    out = np.zeros_like(u)
    out[1:] += u[:-1] - u[1:]
    out[:-1] += u[1:] - u[:-1]
    out[:, 1:] += u[:, :-1] - u[:, 1:]
    out[:, :-1] += u[:, 1:] - u[:, :-1]
    return out


def _biharmonic_inpaint(image, missing):
    """image [H, W, C] float32 in [0, 1], missing [H, W] bool: the unknown
    pixels minimise |L u|^2 with the known ones fixed, solved in double by
    conjugate gradients (the program factorises the same system with LDLT;
    both solve it far below float precision), clamped to [0, 1]."""
    result = image.copy()
    if not missing.any():
        return result
    index = np.nonzero(missing)
    known_part = np.where(missing[..., None], 0.0, image.astype(np.float64))
    rhs = np.empty((len(index[0]), image.shape[2]))
    for ch in range(image.shape[2]):
        rhs[:, ch] = -_laplacian(_laplacian(known_part[..., ch]))[index]

    def apply(values):  # (L^T L)_UU on the unknowns, matrix-free (L is symmetric)
        full = np.zeros(missing.shape)
        full[index] = values
        return _laplacian(_laplacian(full))[index]

    # The diagonal of L^T L: a pixel's own entry, -degree, squared, plus one
    # per neighbour (whose row of L holds a 1 for it).
    degree = np.zeros(missing.shape)
    degree[1:] += 1
    degree[:-1] += 1
    degree[:, 1:] += 1
    degree[:, :-1] += 1
    diagonal = degree * degree + degree
    inverse_diagonal = 1.0 / diagonal[index]
    for ch in range(image.shape[2]):
        b = rhs[:, ch]
        u = np.zeros_like(b)
        r = b.copy()
        p = r * inverse_diagonal
        rz = r @ p
        limit = 1e-14 * max(np.linalg.norm(b), 1e-300)
        for _ in range(20 * len(b) + 100):
            if np.linalg.norm(r) <= limit:
                break
            ap = apply(p)
            step = rz / (p @ ap)
            u += step * p
            r -= step * ap
            z = r * inverse_diagonal
            rz, rz_old = r @ z, rz
            p = z + (rz / rz_old) * p
        channel = result[..., ch]
        channel[index] = np.clip(u, 0.0, 1.0).astype(np.float32)
    return result


def _tensor_to_image(t):
    """tensorToImage: [1, C, H, W] in [-1, 1] -> [H, W, C] float32 in [0, 1]."""
    return t.detach().float()[0].add(1.0).mul(0.5).clamp(0.0, 1.0).permute(1, 2, 0).contiguous()


def _image_to_tensor(hwc):
    """imageToTensor: [H, W, C] float32 in [0, 1] -> [1, C, H, W] in [-1, 1]."""
    return hwc.permute(2, 0, 1).unsqueeze(0).mul(2.0).sub(1.0).contiguous()


def _biharmonic_fill(image, known):
    """biharmonicFill: the batch's holes filled by biharmonic inpainting, in
    [0, 1] as the program does it (an image with no known pixel: push-pull)."""
    known = known.expand(image.shape[0], 1, image.shape[2], image.shape[3])
    filled = []
    for i in range(image.shape[0]):
        known_one = known[i:i + 1]
        if known_one.sum().item() < 0.5:
            filled.append(_push_pull_fill(image[i:i + 1], known_one))
            continue
        missing = (known_one[0, 0] < 0.5).numpy()
        hwc = _tensor_to_image(image[i:i + 1]).numpy()
        filled.append(_image_to_tensor(torch.from_numpy(_biharmonic_inpaint(hwc, missing))))
    return torch.cat(filled).to(image.dtype)


def _restoration_layout(model, objective):
    module, c = model.module, model.config
    target = objective.target
    if module.conditioning_channels() == 0:
        return module.layout(target.shape[2], target.shape[3])
    known = _known_pixels(objective)
    noise = 2.0 * objective.sigma / 255.0  # the noise level in the model's units
    if c["prior_conditioning"]:
        conditioning = torch.cat([known, noise * known], 1)
    else:
        conditioning = torch.cat([_push_pull_fill(target, known), known, noise * known], 1)
    return module.layout(target.shape[2], target.shape[3], conditioning)


def _restoration_start(model, objective):
    """An image prior starts from the observation, its holes (and padding)
    filled by biharmonic inpainting; a latent model from x = 0."""
    if not model.config["image_input"]:
        return None
    target = objective.target
    start = _biharmonic_fill(target, objective.known) if objective.known is not None else target
    return objective.project(_flatten_channels_last(start))


# --------------------------------------------------------------------------
# JIIO with Anderson acceleration (core/jiio/jiio_solver.cpp, core/solvers/)
# --------------------------------------------------------------------------

# JiioOptions{} and what runJiio sets on top of them.
JIIO_DEFAULTS = {
    "alpha_z": 0.8, "alpha_mu": 0.6, "alpha_x": 0.01, "alpha_x_late": 0.003, "alpha_switch_fraction": 0.625,
    "memory": 6, "anderson_beta": 1.0, "anderson_lambda": 1e-4,
    "best_residual_slack": 1.5, "objective_margin": 0.02, "divergence_factor": 1e4,
}
TIGHT_TOLERANCE = 1e-5  # JiioOptions{}.tolerance
IMAGE_PRIOR_TOLERANCE = 3e-2
IMAGE_PRIOR_BUDGET_FACTOR = 5


def solve_defaults(config):
    """solveDefaults() for JIIO: an image prior runs to a 3e-2 residual within
    five times its trained budget; other models their budget, tolerance 1e-5."""
    if config["image_input"]:
        return IMAGE_PRIOR_BUDGET_FACTOR * config["jiio_iterations"], IMAGE_PRIOR_TOLERANCE
    return config["jiio_iterations"], TIGHT_TOLERANCE


def _anderson_weights(gram, lam):
    """min |sum a_i g_i| s.t. sum a_i = 1 by the bordered system, the Gram
    matrix scaled by its mean diagonal; lambda x100 while not finite."""
    n = gram.shape[0]
    scale = max(np.trace(gram) / n, 1e-30)
    rhs = np.zeros(n + 1)
    rhs[0] = 1.0
    for _ in range(5):
        system = np.zeros((n + 1, n + 1))
        system[0, 1:] = system[1:, 0] = 1.0
        system[1:, 1:] = gram / scale + lam * np.eye(n)
        try:
            solution = np.linalg.solve(system, rhs)
        except np.linalg.LinAlgError:
            solution = None
        if solution is not None and np.all(np.isfinite(solution)):
            return solution[1:]
        lam *= 100.0
    return None


class SolveOutcome:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def jiio_solve(model, lay, objective, x0=None, iterations=None, tolerance=None, options=None, trace=None):
    """min_x l(h(z), y) + R(x) s.t. z = f(z, x): Anderson on v = [z; x; mu] with
    G(v) = [lerp(z, f(z, x), az); P(x - ax * dL/dx); lerp(mu, dL/dz, amu)].
    Returns the best iterate's x, z, h(z, x), residual and objective per row."""
    unknown = set(options or {}) - set(JIIO_DEFAULTS)
    if unknown:
        raise ReferenceError("unknown JIIO option(s): %s" % ", ".join(sorted(unknown)))
    opt = dict(JIIO_DEFAULTS, **(options or {}))
    if iterations is not None and iterations < 1:
        raise ReferenceError("the iteration budget must be at least 1")
    default_iterations, default_tolerance = solve_defaults(model.config)
    max_iterations = iterations or default_iterations
    tolerance = tolerance or default_tolerance
    module = model.module
    batch = objective.batch
    zs, ls = lay.z_size, lay.latent_size
    dtype = objective.target.dtype
    x = objective.project(x0.detach() if x0 is not None else torch.zeros(batch, ls, dtype=dtype))
    v = torch.cat([torch.zeros(batch, zs, dtype=dtype), x, torch.zeros(batch, zs, dtype=dtype)], 1)

    def split(state):
        return state.narrow(1, 0, zs), state.narrow(1, zs, ls), state.narrow(1, zs + ls, zs)

    evaluations = 0

    def apply(state):
        nonlocal evaluations
        z, x, mu = split(state)
        with torch.enable_grad():
            z_leaf = z.detach().requires_grad_(True)
            x_leaf = x.detach().requires_grad_(True)
            fz = module.f(z_leaf, x_leaf, lay)
            prediction = module.readout(z_leaf, x_leaf, lay)
            value = objective.per_sample(prediction, x_leaf)
            # One backward pass with (mu, 1): (df/dz)^T mu + dl/dz and (df/dx)^T mu + dR/dx.
            grad_z, grad_x = torch.autograd.grad([fz, value], [z_leaf, x_leaf], [mu, torch.ones_like(value)],
                                                 allow_unused=True)
        if grad_x is None:
            grad_x = torch.zeros_like(x_leaf)
        evaluations += 1
        alpha_x = (opt["alpha_x_late"] if evaluations > opt["alpha_switch_fraction"] * max_iterations
                   else opt["alpha_x"])
        out = torch.empty_like(state)
        z_next, x_next, mu_next = split(out)
        z_next.copy_(torch.lerp(z, fz.detach(), opt["alpha_z"]))
        x_next.copy_(objective.project(x - alpha_x * grad_x))
        mu_next.copy_(torch.lerp(mu, grad_z, opt["alpha_mu"]))
        return out, value.detach()

    memory = max(1, opt["memory"])
    images, residuals = [None] * memory, [None] * memory
    gram = np.zeros((batch, memory, memory))
    slot, filled = -1, 0
    best = v.clone()
    best_residual = [math.inf] * batch
    best_objective = None
    iteration = 0
    reason = "budget exhausted"
    with torch.no_grad():
        while True:
            gv, value = apply(v)
            # The history: G(v) and g = G(v) - v in a ring, the Gram matrix of the g's in double.
            slot = (slot + 1) % memory
            filled = min(filled + 1, memory)
            g = gv - v
            images[slot], residuals[slot] = gv, g
            g64 = g.double()
            for i in range(filled):
                dots = (g64 * residuals[i].double()).sum(1).numpy()
                gram[:, slot, i] = gram[:, i, slot] = dots
            change = g64.square().sum(1).numpy()
            size = gv.double().square().sum(1).numpy()

            # The tracker: relative residual |G(v) - v| / |G(v)| per row over the whole state.
            iteration += 1
            residual = [math.sqrt(change[r]) / (math.sqrt(size[r]) + 1e-12) for r in range(batch)]
            objective_rows = value.double().tolist()
            finite = all(math.isfinite(r) for r in residual)
            converged = all(r < tolerance for r in residual)
            diverging = (all(math.isfinite(b) for b in best_residual)
                         and any(r > b * opt["divergence_factor"] for r, b in zip(residual, best_residual)))
            if trace is not None:
                trace.append({"iteration": iteration, "residual": sum(residual) / batch,
                              "objective": sum(objective_rows) / batch})
            # The best iterate per row: the lowest residual, or one within 1.5x
            # of it whose objective is clearly (2 %) lower.
            if best_objective is None:
                best_objective = [math.inf] * batch
            better = []
            for r in range(batch):
                row = residual[r] < best_residual[r]
                if opt["best_residual_slack"] > 1.0 and iteration > 1:
                    clearly_lower = (objective_rows[r] < best_objective[r]
                                     - opt["objective_margin"] * abs(best_objective[r]))
                    row = row or (residual[r] < best_residual[r] * opt["best_residual_slack"] and clearly_lower)
                row = row and math.isfinite(residual[r])
                better.append(row)
                if row:
                    best_residual[r], best_objective[r] = residual[r], objective_rows[r]
            if all(better):
                best = v
            elif any(better):
                best = torch.where(torch.tensor(better).view(-1, 1), v, best)

            if not finite or diverging:
                reason = "diverged"
                break
            if converged:
                reason = "converged"
                break
            if iteration >= max_iterations:
                reason = "budget exhausted"
                break
            # Mix: v = sum_i w_i (G(v_i) - (1 - beta) g_i), weights per row.
            weights = [_anderson_weights(gram[r, :filled, :filled], opt["anderson_lambda"]) for r in range(batch)]
            if any(w is None for w in weights):
                v = gv  # still singular: a plain step
                continue
            table = torch.tensor(np.array(weights), dtype=dtype)  # [B, filled]
            beta = opt["anderson_beta"]
            mixed = None
            for i in range(filled):
                terms = [(table[:, i:i + 1], images[i])]
                if beta != 1.0:
                    terms.append((-(1.0 - beta) * table[:, i:i + 1], residuals[i]))
                for coefficient, source in terms:
                    mixed = coefficient * source if mixed is None else mixed.addcmul_(coefficient, source)
            v = mixed

        z, x_star, _ = split(best)
        state = z.clone()
        # Anderson's mixture may leave the feasible set: project once more.
        latent = objective.project(x_star).clone()
        prediction = module.readout(state, latent, lay)
    return SolveOutcome(latent=latent, state=state, prediction=prediction, iterations=iteration, reason=reason,
                        residual=best_residual, objective=best_objective, evaluations=evaluations)


# --------------------------------------------------------------------------
# restore (core/tasks/restoration/restore.cpp, tiling.cpp)
# --------------------------------------------------------------------------

MAX_WHOLE_PIXELS = 512 * 512
_SEVERITY = {"converged": 0, "budget exhausted": 1, "stopped": 2, "diverged": 3}


def _plan_axis(length, tile, overlap):
    starts, start = [], 0
    while True:
        if start + tile >= length:
            starts.append(length - tile)
            return starts
        starts.append(start)
        start += tile - overlap


def _axis_ramp(start, size, length, overlap):
    ramp = torch.ones(size)
    if overlap <= 0:
        return ramp
    rise = (torch.arange(overlap, dtype=torch.float32) + 0.5) / float(overlap)
    if start > 0:
        ramp[:overlap] *= rise
    if start + size < length:
        ramp[size - overlap:] *= rise.flip(0)
    return ramp


class RestoreResult:
    """image: [C, H, W] float32 in [0, 1] (what the program quantises to the
    output's depth); iterations summed over segments; residual: the worst
    segment's best relative residual; objective: the mean over segments."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return ("RestoreResult(%dx%d, %d iteration(s) over %d segment(s), residual %.3g, objective %.6g, %s)"
                % (self.image.shape[2], self.image.shape[1], self.iterations, self.segments, self.residual,
                   self.objective, self.stop_reason))


def _as_hwc(image):
    t = torch.as_tensor(image)
    if t.dim() == 2:
        t = t.unsqueeze(0)
    if t.dim() != 3:
        raise ReferenceError("the image must be [C, H, W] (or [H, W] for gray), not %s" % list(t.shape))
    if t.dtype == torch.uint8:
        t = t.float() * np.float32(1 / 255)
    return t.to(torch.float32).permute(1, 2, 0).contiguous()


def restore(model, image, mask=None, sigma=None, task=None, iterations=None, tolerance=None, tile_batch=4,
            max_whole_pixels=MAX_WHOLE_PIXELS, options=None, trace=None):
    """Restores `image` ([C, H, W] float in [0, 1], or [H, W]) as `jiio restore` does.

    mask: [H, W], non-zero marks a missing pixel (inpainting); sigma: noise
    level on the 0-255 scale (denoising). iterations/tolerance override the
    model's defaults (--iters/--tol), options the JIIO settings (keys of
    JIIO_DEFAULTS: alpha_x, alpha_x_late, alpha_z, alpha_mu, memory, ...;
    alpha_x alone sets alpha_x_late too, as --alpha-x does). trace, a list,
    receives one dict per iteration (segments one after another).
    """
    if isinstance(model, str):
        model = load(model)
    if options and "alpha_x" in options and "alpha_x_late" not in options:
        options = dict(options, alpha_x_late=options["alpha_x"])
    c = model.config
    if c["kind"] == "classifier":
        raise ReferenceError("this model is a classifier: it attacks and classifies images, it does not restore them")
    if c["kind"] == "fewshot":
        raise ReferenceError("this model is a few-shot classifier: it does not restore images")
    if c["kind"] == "generative":
        raise ReferenceError("generative models (fixed-size latent reconstruction) are not supported by this reference")
    if task is None:
        if mask is not None and sigma is not None:
            raise ReferenceError("give a mask (inpainting) or sigma (denoising), not both")
        task = "inpaint" if mask is not None else "denoise" if sigma is not None else None
    if task not in ("inpaint", "denoise"):
        raise ReferenceError("restore needs a mask (inpainting) or sigma (denoising)")
    sigma = float(sigma) if task == "denoise" else 0.0
    if task == "denoise" and not 0 < sigma <= 255:
        raise ReferenceError("the noise level sigma must be in (0, 255]")
    if tile_batch < 1:
        raise ReferenceError("the tile batch must be at least 1")

    hwc = _as_hwc(image)
    height, width, channels = hwc.shape
    if channels == 1 and c["image_channels"] == 3:
        # An RGB model restores gray images as three equal channels, and the
        # result goes back to gray with OpenCV's weights.
        result = restore(model, hwc.expand(height, width, 3).permute(2, 0, 1), mask, sigma if task == "denoise"
                         else None, task, iterations, tolerance, tile_batch, max_whole_pixels, options, trace)
        rgb = result.image
        gray = rgb[0] * np.float32(0.299) + rgb[1] * np.float32(0.587) + rgb[2] * np.float32(0.114)
        result.image = gray.clamp(0, 1).unsqueeze(0)
        return result
    if channels != c["image_channels"]:
        raise ReferenceError("the model expects %d-channel images but the image has %d colour channel(s)"
                             % (c["image_channels"], channels))
    if task == "inpaint":
        missing = torch.as_tensor(np.asarray(mask)) != 0
        if tuple(missing.shape) != (height, width):
            raise ReferenceError("the mask is %s but the image is %dx%d" % (list(missing.shape), width, height))
        if not missing.any():
            raise ReferenceError("the mask marks no missing pixels (non-zero mask pixels are the ones to fill)")
        known = (~missing).to(torch.float32).view(1, 1, height, width)
    else:
        known = torch.ones(1, 1, height, width)

    start = time.perf_counter()
    with torch.no_grad():
        observed = _image_to_tensor(hwc)
        observed = observed * known  # values under the mask are ignored
        align = alignment(c)
        whole = height * width <= max_whole_pixels

        def round_up(value):
            return (value + align - 1) // align * align

        tile = c["tile_size"]
        padded_h = round_up(height if whole else max(height, tile))
        padded_w = round_up(width if whole else max(width, tile))
        target = observed
        if (padded_h, padded_w) != (height, width):  # replicated; weight 0 in the objective
            target = F.pad(observed, (0, padded_w - width, 0, padded_h - height), mode="replicate")
        weight = torch.zeros(1, 1, padded_h, padded_w)
        weight[:, :, :height, :width] = known

        stats = {"iterations": 0, "objective": 0.0, "residual": 0.0, "reason": "converged", "segments": 0}
        objective_type = _ImagePriorObjective if c["image_input"] else _LatentObjective

        def solve_batch(targets, weights):
            objective = objective_type(task, targets, weights, c["prior_weight"], sigma)
            lay = _restoration_layout(model, objective)
            out = jiio_solve(model, lay, objective, _restoration_start(model, objective), iterations, tolerance,
                             options, trace)
            stats["iterations"] += out.iterations
            stats["objective"] += sum(out.objective)
            stats["residual"] = max([stats["residual"]] + out.residual)
            if _SEVERITY[out.reason] > _SEVERITY[stats["reason"]]:
                stats["reason"] = out.reason
            if hasattr(objective, "restored_image"):
                return objective.restored_image(out.prediction, out.latent)
            return out.prediction

        if whole:
            blended = solve_batch(target, weight)
            stats["segments"] = 1
        else:
            overlap = c["tile_overlap"]
            tiles = [(top, left) for top in _plan_axis(padded_h, tile, overlap)
                     for left in _plan_axis(padded_w, tile, overlap)]
            blended = torch.zeros(1, c["image_channels"], padded_h, padded_w)
            weight_sum = torch.zeros(1, 1, padded_h, padded_w)
            for first in range(0, len(tiles), tile_batch):
                group = tiles[first:first + tile_batch]
                predictions = solve_batch(
                    torch.cat([target[:, :, t:t + tile, l:l + tile] for t, l in group]),
                    torch.cat([weight[:, :, t:t + tile, l:l + tile] for t, l in group]))
                for i, (t, l) in enumerate(group):
                    window = torch.outer(_axis_ramp(t, tile, padded_h, overlap),
                                         _axis_ramp(l, tile, padded_w, overlap)).view(1, 1, tile, tile)
                    blended[:, :, t:t + tile, l:l + tile] += predictions[i:i + 1] * window
                    weight_sum[:, :, t:t + tile, l:l + tile] += window
                stats["segments"] += len(group)
            blended = blended / weight_sum.clamp_min(1e-8)

        restored = blended[:, :, :height, :width]
        if task == "inpaint":  # known pixels come back as they were
            restored = torch.where(known.bool(), observed, restored)
        out_image = _tensor_to_image(restored).permute(2, 0, 1).contiguous()
    return RestoreResult(image=out_image, iterations=stats["iterations"], segments=stats["segments"],
                         objective=stats["objective"] / max(stats["segments"], 1), residual=stats["residual"],
                         stop_reason=stats["reason"], seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------
# Images in and out: OpenCV, the decoder and encoder the program uses
# (core/io/image_io.cpp), so both see the same pixels
# --------------------------------------------------------------------------

def _decode(path):
    flags = cv2.IMREAD_UNCHANGED
    with open(path, "rb") as handle:
        if handle.read(3) == b"\xff\xd8\xff":  # a JPEG: upright by its EXIF orientation, as the program reads it
            flags = cv2.IMREAD_ANYDEPTH | cv2.IMREAD_ANYCOLOR
    raw = cv2.imread(path, flags)
    if raw is None:
        raise ReferenceError("cannot read '%s': not an image or a corrupt file" % path)
    if raw.dtype not in (np.uint8, np.uint16):
        raise ReferenceError("cannot read '%s': only 8- and 16-bit images are supported" % path)
    return raw


def read_image(path):
    """An image as [C, H, W] float32 in [0, 1] (C = 1 or 3) and {"depth": 8|16,
    "alpha": [H, W] integer array or None}, as readImage() decodes it."""
    raw = _decode(path)
    alpha = None
    if raw.ndim == 2:
        color = raw[..., None]
    elif raw.shape[2] == 3:
        color = cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)
    elif raw.shape[2] == 4:
        alpha = raw[..., 3].copy()
        color = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGB)
    else:
        raise ReferenceError("unsupported channel count %d (expected 1, 3 or 4)" % raw.shape[2])
    depth = 8 if raw.dtype == np.uint8 else 16
    scale = np.float32(1.0 / (255.0 if depth == 8 else 65535.0))
    image = color.astype(np.float32) * scale
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1))), {"depth": depth, "alpha": alpha}


def read_mask(path):
    """A mask as an [H, W] bool tensor, True where a pixel is missing
    (non-zero; a colour mask counts by its gray value, as readMask())."""
    raw = _decode(path)
    if raw.ndim == 3:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGR2GRAY if raw.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    return torch.from_numpy(raw != 0)


def quantize(image, depth=8):
    """[C, H, W] float in [0, 1] -> integers as convertTo() writes them:
    x * (2^depth - 1) in float, rounded half to even, saturated."""
    scale = np.float32(255.0 if depth == 8 else 65535.0)
    values = np.rint(torch.as_tensor(image, dtype=torch.float32).numpy() * scale)
    return np.clip(values, 0, float(scale)).astype(np.uint8 if depth == 8 else np.uint16)


def write_image(path, image, depth=8, alpha=None):
    """Writes [C, H, W] float in [0, 1] (C = 1 or 3) at 8 or 16 bits in the
    format the file name says, with an untouched alpha plane when given."""
    values = quantize(image, depth).transpose(1, 2, 0)
    if values.shape[2] == 3:
        values = cv2.cvtColor(values, cv2.COLOR_RGB2BGR)
    elif alpha is not None:
        values = cv2.cvtColor(values, cv2.COLOR_GRAY2BGR)
    if alpha is not None:
        values = np.concatenate([values, np.asarray(alpha).astype(values.dtype)[..., None]], axis=2)
    if not cv2.imwrite(path, values):
        raise ReferenceError("cannot write '%s'" % path)
