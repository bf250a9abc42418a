"""Reference data files an app setting names (the relief network, the shelter staff assignments).

The setting holds a path, absolute or relative to the project root, and a default ships in data/.
A file is validated into its model on load and cached by path, modification time and size: an
edited file is read again (no restart), an unchanged one is parsed once.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from contracts import ContractModel

PROJECT_ROOT = Path(__file__).resolve().parents[1]

ModelT = TypeVar("ModelT", bound=ContractModel)


def setting_file_path(setting: str, default: str | Path, environ: Mapping[str, str] | None = None) -> Path:
    """The file the app setting `setting` names (or `default`), relative paths from the project root."""
    env = os.environ if environ is None else environ
    path = Path(env.get(setting, "").strip() or default)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_model_file(model: type[ModelT], path: Path) -> ModelT:
    """Read and validate `path` as `model` (cached per path, modification time and size)."""
    stat = path.stat()
    loaded = _load_cached(model, str(path), stat.st_mtime_ns, stat.st_size)
    assert isinstance(loaded, model)
    return loaded


@dataclass(frozen=True)
class SettingFile(Generic[ModelT]):
    """A reference data file of `model`, named by the app setting `setting` (else `default`)."""

    setting: str
    default: str | Path
    model: type[ModelT]

    def path(self, environ: Mapping[str, str] | None = None) -> Path:
        """The file the setting names (or the default); relative paths are from the project root."""
        return setting_file_path(self.setting, self.default, environ)

    def load(self, path: Path) -> ModelT:
        """Read and validate a file (cached per path, modification time and size)."""
        return load_model_file(self.model, path)

    def from_settings(self, environ: Mapping[str, str] | None = None) -> ModelT:
        """The file named by the app settings, validated."""
        return self.load(self.path(environ))


@functools.lru_cache(maxsize=16)
def _load_cached(model: type[ContractModel], path: str, modified_ns: int, size: int) -> ContractModel:
    # Keyed by mtime and size too: an edited file is read again, an unchanged one is parsed once.
    return model.model_validate_json(Path(path).read_bytes())
