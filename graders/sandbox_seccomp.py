"""Seccomp filter for the bwrap sandbox: no nested user namespaces, less kernel attack surface."""

from __future__ import annotations

import platform
import struct

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
# name, x86_64 number, aarch64 number
_SYSCALLS = """
clone 56 220
clone3 435 435
unshare 272 97
setns 308 268
mount 165 40
umount2 166 39
pivot_root 155 41
open_tree 428 428
move_mount 429 429
fsopen 430 430
fsconfig 431 431
fsmount 432 432
fspick 433 433
keyctl 250 219
add_key 248 217
request_key 249 218
bpf 321 280
perf_event_open 298 241
userfaultfd 323 282
io_uring_setup 425 425
io_uring_enter 426 426
io_uring_register 427 427
open_by_handle_at 304 265
kexec_load 246 104
kexec_file_load 320 294
init_module 175 105
finit_module 313 273
delete_module 176 106
"""
_NR = {
    arch: {row.split()[0]: int(row.split()[col]) for row in _SYSCALLS.strip().splitlines()}
    for arch, col in (("x86_64", 1), ("aarch64", 2))
}
# Refused outright with EPERM: namespaces and mounts (a way out), kernel attack surface.
_DENIED = [name for name in _NR["x86_64"] if name not in ("clone", "clone3")]


def seccomp_program() -> bytes | None:
    """Classic BPF for bwrap --seccomp: no new user namespaces, no kernel-attack-surface calls.

    bwrap's own --disable-userns cannot be combined with --userns-block-fd (which we need to
    map the code to a non-root host uid), so nested user namespaces are refused here: clone
    with CLONE_NEWUSER and unshare/setns get EPERM; clone3 gets ENOSYS so that glibc falls
    back to clone, whose flags a filter can inspect.
    """
    arch = platform.machine()
    if arch not in _NR:
        return None
    nr = _NR[arch]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, errno_base, kill = 0x7FFF0000, 0x00050000, 0x80000000
    eperm, enosys, clone_newuser = 1, 38, 0x10000000
    prog: list[tuple[int, int | str, int | str, int]] = [
        (ld, 0, 0, 4),  # seccomp_data.arch
        (jeq, 1, 0, _AUDIT_ARCH[arch]),
        (ret, 0, 0, kill),  # foreign ABIs (i386 via int 0x80) have other numbers
        (ld, 0, 0, 0),  # seccomp_data.nr
    ]
    if arch == "x86_64":
        prog.append((jge, "enosys", 0, 0x40000000))  # x32 ABI
    prog += [(jeq, "eperm", 0, nr[name]) for name in _DENIED]
    prog += [
        (jeq, "enosys", 0, nr["clone3"]),
        (jeq, 0, "allow", nr["clone"]),
        (ld, 0, 0, 16),  # low 32 bits of args[0]: the clone flags
        (jset, "eperm", "allow", clone_newuser),
    ]
    labels = {"allow": len(prog), "eperm": len(prog) + 1, "enosys": len(prog) + 2}
    prog += [(ret, 0, 0, allow), (ret, 0, 0, errno_base | eperm), (ret, 0, 0, errno_base | enosys)]
    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(prog):
        jt_off = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf_off = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out += struct.pack("=HBBI", code, jt_off, jf_off, k)
    return bytes(out)
