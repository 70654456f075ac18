"""Atomic file writes that leave nothing behind: a temporary file in the target's folder, fsync,
then os.replace, so readers see the old file or the new one, never half of one.

The temporary's name says who wrote it: `.tmp-pyengine-<machine>-<pid>-<random>`, where <machine>
is the host name and the PID namespace. A writer killed mid-write (kill -9, power loss) cannot
remove its temporary, so every write first removes the stale ones of this naming in its folder:
those whose writer process (on this machine) is gone, and any older than a day. Another live
process's temporary is left alone, and so are files of any other naming.

The new file keeps the permission bits of the file it replaces; a new file gets the default of
the umask (0666 & ~umask), as open() would give it.
"""
import errno
import os
import re
import secrets
import socket
import stat
import time

_PREFIX = ".tmp-pyengine-"
_TEMP_NAME = re.compile(r"\.tmp-pyengine-(?P<machine>[A-Za-z0-9._]+)-(?P<pid>[0-9]+)-[0-9a-f]{16}\Z")
# No write takes this long: a temporary this old is stale even if its PID now names a live process
# (PIDs are reused) or it comes from another machine sharing the folder (whose PIDs we cannot check).
STALE_AFTER_SECONDS = 24 * 3600


def _machine():
    """This machine's part of a temporary's name: host name and PID namespace (containers that
    share a host name and a folder do not share PIDs), in the characters the pattern allows."""
    host = re.sub(r"[^A-Za-z0-9.]", ".", socket.gethostname())[:64] or "host"
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:  # not Linux
        namespace = 0
    return f"{host}_{namespace}"


def temp_name(pid=None):
    """A fresh temporary's file name (no folder) for the writer `pid` (default: this process)."""
    return f"{_PREFIX}{_machine()}-{os.getpid() if pid is None else pid}-{secrets.token_hex(8)}"


def _process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # another user's process / not a PID we can ask about
        return True
    return True


def _is_stale(name, mtime, now):
    match = _TEMP_NAME.match(name)
    if match is None:
        return False  # not ours
    if now - mtime > STALE_AFTER_SECONDS:
        return True
    pid = int(match["pid"])
    if match["machine"] != _machine() or pid == os.getpid():  # another machine's, or another thread's here
        return False
    return not _process_alive(pid)


def remove_stale_temporaries(folder):
    """Remove the temporaries of killed writers in `folder` (see the module's doc); returns their
    names. Best effort: a file that vanished or cannot be removed is skipped."""
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(_PREFIX):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and _is_stale(entry.name, st.st_mtime, now):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed


def _existing_mode(path):
    """The permission bits of the regular file at `path`, or None when there is none."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.S_IMODE(st.st_mode) & 0o777 if stat.S_ISREG(st.st_mode) else None


def _create_temp(folder, mode):
    for _ in range(100):
        tmp = os.path.join(folder, temp_name())
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), mode), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file in {folder}")


def write_atomically(path, data):
    """Write the bytes `data` to `path` atomically (see the module's doc). A symlink at `path`
    keeps pointing where it did: its target is replaced."""
    path = os.path.realpath(os.fspath(path))
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise FileNotFoundError(errno.ENOENT, f"cannot write, the folder {folder} does not exist", path)
    remove_stale_temporaries(folder)
    mode = _existing_mode(path)
    # 0666 lets the umask decide for a new file; an existing file's mode is set exactly below
    fd, tmp = _create_temp(folder, 0o666 if mode is None else 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            if mode is not None:
                os.chmod(tmp, mode)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
