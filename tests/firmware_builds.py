"""Small firmware programs linked by the real GNU toolchain, with ld's own region usage.

Each ``build`` compiles a few C files with ``arm-none-eabi-gcc`` (or the host ``gcc``)
against a linker script with a MEMORY command, asks ld for ``--print-memory-usage`` and a
map file, and returns ld's table parsed: the oracle every ELF budget is compared with.
The layouts cover what ld's accounting depends on (``.data`` with its load address in
flash, ``NOLOAD`` sections, a table at an explicit address, padding, ``. = . + N``
outside sections, TLS, a nearly full region, a region that overflows).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ARM_GCC = "arm-none-eabi-gcc"
INSTALL = "apt-get install gcc-arm-none-eabi (CI installs it in .ci/run)"

MAIN_C = r"""
int counter = 5;
char buffer[1024];
const char message[] = "hello firmware";
__attribute__((section(".noinit"))) int survive[8];
__attribute__((section(".table"), used)) const int table[4] = {1, 2, 3, 4};
int helper(int x);
void _start(void) { counter += helper(message[0]) + buffer[3] + survive[1]; for (;;); }
"""

HELPER_C = r"""
static int big[64] = {1};
int helper(int x) { return big[x & 63] * x; }
"""

CCM_C = r"""
__attribute__((section(".ccmdata"))) int fast[3] = {7, 8, 9};
__attribute__((section(".ccmbss"))) int scratch[40];
int use_ccm(void) { return fast[1] + scratch[2]; }
"""

TLS_C = r"""
__thread int tls_init = 3;
__thread char tls_zero[256];
void *__aeabi_read_tp(void) { return 0; }
int use_tls(void) { return tls_init + tls_zero[9]; }
"""

HOST_C = r"""
int counter = 5;
long table[32];
const char message[] = "hello host";
void _start(void) { counter += message[1] + (int)table[3]; for (;;); }
"""

BASIC_LD = """
MEMORY {
  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = 64K
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 20K
  CCM (rw)   : ORIGIN = 0x10000000, LENGTH = 8K
}
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > FLASH
  .table 0x08004000 : { KEEP(*(.table)) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  .noinit (NOLOAD) : { *(.noinit) } > RAM
  .stack (NOLOAD) : { . = . + 2048; } > RAM
}
"""

# Padding inside a section, a bare ". = . + N" between sections and after the last one,
# data with its load address in flash for a second RAM (CCM), a zero-length region and a
# "(!rx)" attribute.
CCM_LD = """
MEMORY {
  FLASH (rx)   : ORIGIN = 0x08000000, LENGTH = 32K
  RAM (rwx)    : ORIGIN = 0x20000000, LENGTH = 16K
  CCM (!rx)    : ORIGIN = 0x10000000, LENGTH = 8K
  EMPTY (rw)   : ORIGIN = 0x30000000, LENGTH = 0
}
SECTIONS {
  .text : { *(.text*) *(.rodata*) . = ALIGN(64); } > FLASH
  . = . + 0x100;
  .table : { KEEP(*(.table)) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH
  .ccmdata : { *(.ccmdata) } > CCM AT> FLASH
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  .ccmbss (NOLOAD) : { *(.ccmbss) } > CCM
  .noinit (NOLOAD) : { *(.noinit) } > RAM AT> FLASH
  . = . + 0x400;
}
"""

TLS_LD = """
MEMORY {
  FLASH (rx) : ORIGIN = 0x00000000, LENGTH = 16K
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = 4K
}
SECTIONS {
  .text : { *(.text*) *(.rodata*) *(.table) } > FLASH
  .data : { *(.data*) } > RAM AT> FLASH
  .tdata : { *(.tdata*) } > RAM AT> FLASH
  .tbss : { *(.tbss*) } > RAM
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  .noinit (NOLOAD) : { *(.noinit) } > RAM
}
"""


def sized_ld(flash: int, ram: int) -> str:
    """BASIC_LD's sections, without the explicit address, in regions of the given sizes."""
    return f"""
MEMORY {{
  FLASH (rx) : ORIGIN = 0x08000000, LENGTH = {flash}
  RAM (rwx)  : ORIGIN = 0x20000000, LENGTH = {ram}
}}
SECTIONS {{
  .text : {{ *(.text*) *(.rodata*) }} > FLASH
  .table : {{ KEEP(*(.table)) }} > FLASH
  .data : {{ *(.data*) }} > RAM AT> FLASH
  .bss (NOLOAD) : {{ *(.bss*) *(COMMON) }} > RAM
  .noinit (NOLOAD) : {{ *(.noinit) }} > RAM
}}
"""


HOST_LD = """
MEMORY {
  ROM (rx) : ORIGIN = 0x400000, LENGTH = 1M
  RAM (rw) : ORIGIN = 0x600000, LENGTH = 1M
}
SECTIONS {
  .text : { *(.text*) *(.rodata*) } > ROM
  .data : { *(.data*) } > RAM AT> ROM
  .bss (NOLOAD) : { *(.bss*) *(COMMON) } > RAM
  /DISCARD/ : { *(.note*) *(.eh_frame*) *(.comment) }
}
"""


@dataclass(frozen=True)
class Layout:
    name: str
    script: str
    sources: tuple[str, ...]
    flags: tuple[str, ...] = ()


LAYOUTS = {
    "basic": Layout("basic", BASIC_LD, (MAIN_C, HELPER_C)),
    "ccm": Layout("ccm", CCM_LD, (MAIN_C, HELPER_C, CCM_C)),
    "tls": Layout("tls", TLS_LD, (MAIN_C, HELPER_C, TLS_C)),
    # FLASH: .text 336 + .table 16 + .data 4 = 356 of 360 B; RAM: 4 + 1024 + 32 of 1,064.
    "nearly_full": Layout("nearly_full", sized_ld(360, 1064), (MAIN_C, HELPER_C)),
    "overflow": Layout(
        "overflow", sized_ld(256, 1024), (MAIN_C, HELPER_C), ("-Wl,--noinhibit-exec",)
    ),
}

_UNITS = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
_ROW = re.compile(r"\s*(\S+):\s+(\d+) (B|KB|MB|GB)\s+(\d+) (B|KB|MB|GB)(?:\s+[\d.]+%)?\s*\Z")


def parse_memory_usage(stdout: str) -> dict[str, tuple[int, int]]:
    """ld's ``--print-memory-usage`` table: region -> (Used Size, Region Size) in bytes."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Memory region"))
    out: dict[str, tuple[int, int]] = {}
    for line in lines[start + 1 :]:
        m = _ROW.match(line)
        if m is None:
            break
        name, used, uu, size, su = m.groups()
        out[name] = (int(used) * _UNITS[uu], int(size) * _UNITS[su])
    assert out, stdout
    return out


@dataclass(frozen=True)
class Build:
    elf: Path
    map: Path
    usage: dict[str, tuple[int, int]]  # ld's table
    stderr: str  # ld's messages ("region `RAM' overflowed by 36 bytes")

    def overflows(self) -> dict[str, int]:
        """Region -> bytes over, from ld's "region `X' overflowed by N bytes" messages."""
        found = re.findall(r"region .(\S+?)' overflowed by (\d+) bytes", self.stderr)
        return {name: int(n) for name, n in found}


def need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.skip(f"{tool} not installed ({INSTALL})")
    return found


def build(out: Path, layout: Layout, *, big_endian: bool = False, stem: str | None = None) -> Build:
    """Compile and link ``layout`` for a Cortex-M4 into ``out``."""
    gcc = need(ARM_GCC)
    stem = stem or layout.name + ("_be" if big_endian else "")
    return _link(
        out,
        stem,
        [gcc, "-mcpu=cortex-m4", "-mthumb", *(["-mbig-endian"] if big_endian else [])],
        layout,
    )


def build_host(out: Path) -> Build:
    """A 64-bit little-endian x86-64 program linked by the host's ld into MEMORY regions."""
    gcc = need("gcc")
    layout = Layout("host", HOST_LD, (HOST_C,))
    flags = [gcc, "-fno-pie", "-no-pie", "-static", "-fno-asynchronous-unwind-tables"]
    return _link(out, "host", [*flags, "-Wl,--build-id=none"], layout)


def _link(out: Path, stem: str, compiler: list[str], layout: Layout) -> Build:
    """Compile each source to ``<stem>_<i>.o`` in ``out`` (stable object names in the map,
    where gcc's own temporary objects would be random), then link them there."""
    out.mkdir(parents=True, exist_ok=True)
    objects = []
    for i, text in enumerate(layout.sources):
        src = out / f"{stem}_{i}.c"
        src.write_text(text)
        _run([*compiler, "-O1", "-c", src.name, "-o", f"{stem}_{i}.o"], out)
        objects.append(f"{stem}_{i}.o")
    (out / f"{stem}.ld").write_text(layout.script)
    cmd = [
        *compiler,
        "-nostdlib",
        "-nostartfiles",
        "-T",
        f"{stem}.ld",
        f"-Wl,--print-memory-usage,-Map={stem}.map",
        *layout.flags,
        "-o",
        f"{stem}.elf",
        *objects,
    ]
    done = _run(cmd, out)
    return Build(
        out / f"{stem}.elf", out / f"{stem}.map", parse_memory_usage(done.stdout), done.stderr
    )


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return done


def without_section_headers(elf: Path, out: Path) -> Path:
    """A copy of ``elf`` with no section header table (as ``sstrip`` leaves a program):
    ``e_shoff``, ``e_shnum`` and ``e_shstrndx`` zeroed, in the file's class and order."""
    data = bytearray(elf.read_bytes())
    order = "<" if data[5] == 1 else ">"
    if data[4] == 1:  # ELF32: e_shoff at 32 (4 bytes), e_shnum at 48, e_shstrndx at 50
        struct.pack_into(order + "I", data, 32, 0)
        struct.pack_into(order + "HH", data, 48, 0, 0)
    else:  # ELF64: e_shoff at 40 (8 bytes), e_shnum at 60, e_shstrndx at 62
        struct.pack_into(order + "Q", data, 40, 0)
        struct.pack_into(order + "HH", data, 60, 0, 0)
    out.write_bytes(bytes(data))
    return out


def strip_all(elf: Path, out: Path, strip: str = "arm-none-eabi-strip") -> Path:
    subprocess.run([need(strip), "--strip-all", "-o", str(out), str(elf)], check=True)
    return out
