"""Compile a spec's C (:func:`mostate.codegen.cmodule.emit_c`) into a shared library.

The library is built by the system's C compiler (``$CC``, else gcc, clang or cc) with the
warnings the generated code promises to be clean of as errors, and cached by the hash of its
source, its flags and the compiler: a test session, a benchmark or a client builds each spec
once. ``sanitize=True`` adds AddressSanitizer and UndefinedBehaviorSanitizer (every report
aborts); such a library loads only into a process started with the sanitizer's runtime
preloaded (:func:`sanitizer_runtime` names it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs

from ..codegen.cmodule import CModule
from ..errors import MostateError

STRICT = ("-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror")
"""The flags the generated C builds clean under."""
SANITIZE = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer")


class CompilerMissing(MostateError, RuntimeError):
    """No C compiler on this machine (``$CC``, gcc, clang or cc)."""


class CompileError(MostateError, RuntimeError):
    """The compiler refused the generated C: a generator bug, the compiler's words attached."""


@attrs.frozen
class Built:
    """A compiled library and the module it was compiled from."""

    path: Path
    module: CModule
    sanitized: bool


def compiler() -> str:
    """The C compiler to use; CompilerMissing when there is none.

    >>> isinstance(compiler(), str)
    True
    """
    for candidate in (os.environ.get("CC"), "gcc", "clang", "cc"):
        if candidate and shutil.which(candidate):
            return candidate
    raise CompilerMissing("no C compiler found (set CC, or install gcc or clang)")


def default_cache() -> Path:
    """Where libraries are kept between runs: ``$MOSTATE_C_CACHE`` or a folder under the
    system's temporary folder."""
    return Path(os.environ.get("MOSTATE_C_CACHE") or Path(tempfile.gettempdir()) / "mostate-c")


def build(
    module: CModule,
    *,
    sanitize: bool = False,
    optimise: str = "-O2",
    cache: Path | None = None,
    extra: tuple[str, ...] = (),
) -> Built:
    """The shared library of ``module``, compiled once per source and flags."""
    cc = compiler()
    flags = (*STRICT, optimise, "-fPIC", "-shared", *(SANITIZE if sanitize else ()), *extra)
    key = hashlib.sha256(
        "\0".join((module.header, module.source, cc, *flags)).encode()
    ).hexdigest()[:16]
    folder = (cache or default_cache()) / f"{module.prefix}-{key}"
    library = folder / f"lib{module.prefix}.so"
    if not library.exists():
        write_sources(module, folder)
        partial = folder / f"lib{module.prefix}.so.partial"
        done = subprocess.run(
            [cc, *flags, "-o", str(partial), str(folder / f"{module.prefix}.c")],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise CompileError(f"{cc} refused the generated C:\n{done.stderr[-4000:]}")
        partial.replace(library)  # atomic: a concurrent build never loads half a file
    return Built(library, module, sanitize)


def write_sources(module: CModule, folder: Path) -> tuple[Path, Path]:
    """``PREFIX.h`` and ``PREFIX.c`` written into ``folder`` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    header, source = folder / f"{module.prefix}.h", folder / f"{module.prefix}.c"
    header.write_text(module.header)
    source.write_text(module.source)
    return header, source


def sanitizer_runtime() -> list[str]:
    """The sanitizer runtimes a process must preload (``LD_PRELOAD``) to load a sanitized
    library into an interpreter that was built without them; empty when the compiler does
    not name them."""
    cc = compiler()
    found = []
    for name in ("libasan.so", "libubsan.so"):
        done = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True, text=True)
        path = done.stdout.strip()
        if done.returncode == 0 and os.path.isabs(path) and os.path.exists(path):
            found.append(path)
    return found
