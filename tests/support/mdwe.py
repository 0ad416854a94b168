"""systemd's ``MemoryDenyWriteExecute=yes`` outside systemd: the same seccomp rule.

systemd 252 installs a seccomp filter that makes these fail with EPERM: ``mmap`` of memory
both writable and executable, ``mprotect``/``pkey_mprotect`` adding execute permission,
and ``shmat`` with ``SHM_EXEC``. :func:`deny_write_execute` installs that filter (plus
``no_new_privs``, as ``NoNewPrivileges=yes``) on the calling process; it is inherited
across ``execve``, so ``python -m tests.support.mdwe COMMAND ARGS...`` runs COMMAND under it.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
EPERM = 1
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
# (audit arch, mmap, mprotect, pkey_mprotect, shmat) per machine.
ARCHES = {
    "x86_64": (0xC000003E, 9, 10, 329, 30),
    "aarch64": (0xC00000B7, 222, 226, 288, 196),
}
# BPF opcodes.
LD_ABS, JEQ, JSET, AND, RET = 0x20, 0x15, 0x45, 0x54, 0x06
NR, ARCH, ARG2 = 0, 4, 32  # offsets in struct seccomp_data (args[2], low half)


def supported() -> bool:
    return sys.platform == "linux" and platform.machine() in ARCHES


def _program() -> list[tuple[int, int, int, int]]:
    arch, mmap, mprotect, pkey_mprotect, shmat = ARCHES[platform.machine()]
    on_mmap, on_mprotect, on_shmat, deny, allow = 7, 10, 12, 14, 15  # instruction indexes

    def jump(pc: int, op: int, value: int, true: int, false: int) -> tuple[int, int, int, int]:
        return (op, true - pc - 1, false - pc - 1, value)  # BPF jumps are relative

    prog = [
        (LD_ABS, 0, 0, ARCH),
        jump(1, JEQ, arch, 2, allow),  # another ABI: not this rule's business
        (LD_ABS, 0, 0, NR),
        jump(3, JEQ, mmap, on_mmap, 4),
        jump(4, JEQ, mprotect, on_mprotect, 5),
        jump(5, JEQ, pkey_mprotect, on_mprotect, 6),
        jump(6, JEQ, shmat, on_shmat, allow),
        (LD_ABS, 0, 0, ARG2),  # mmap: writable and executable at once
        (AND, 0, 0, PROT_WRITE | PROT_EXEC),
        jump(9, JEQ, PROT_WRITE | PROT_EXEC, deny, allow),
        (LD_ABS, 0, 0, ARG2),  # mprotect, pkey_mprotect: adding execute at all
        jump(11, JSET, PROT_EXEC, deny, allow),
        (LD_ABS, 0, 0, ARG2),  # shmat: its flags
        jump(13, JSET, SHM_EXEC, deny, allow),
        (RET, 0, 0, SECCOMP_RET_ERRNO | EPERM),
        (RET, 0, 0, SECCOMP_RET_ALLOW),
    ]
    assert len(prog) == allow + 1
    return prog


def deny_write_execute() -> None:
    """Install the filter on this process and everything it executes from now on."""
    program = b"".join(struct.pack("=HBBI", *insn) for insn in _program())
    buffer = ctypes.create_string_buffer(program, len(program))

    class SockFprog(ctypes.Structure):
        _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))

    fprog = SockFprog(len(program) // 8, ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


if __name__ == "__main__":
    deny_write_execute()
    os.execv(sys.argv[1], sys.argv[1:])  # noqa: S606 - exec the command given, as-is
