# The hashing receiver of VtsActors: run at a target as  python3 -c "<this file>"  by a session that copies
# tapes there. Its protocol (requests, answers, what each guarantees) is described in TargetWriter.cs.
# This file is passed inside single quotes to a remote shell: it must never contain one.
import errno, fcntl, hashlib, mmap, os, queue, re, stat, sys, threading, time
DIRECT = getattr(os, "O_DIRECT", 0)
size = 1 << 20
try:
    fcntl.fcntl(0, 1031, size)
except OSError:
    pass
free, full = queue.Queue(), queue.Queue()
for _ in range(4):
    free.put(memoryview(mmap.mmap(-1, size)))
def direct(fd, on):
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | DIRECT if on else flags & ~DIRECT)
def write(fd, failed):
    while True:
        item = full.get()
        if item is None:
            return
        view, n = item
        try:
            if not failed and n % 4096:
                direct(fd, False)
            done = 0
            while not failed and done < n:
                try:
                    done += os.write(fd, view[done:n])
                except OSError as e:
                    if e.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & DIRECT:
                        raise
                    direct(fd, False)
        except BaseException as e:
            failed.append(e)
        free.put(view)
def line():
    text = b""
    while not text.endswith(b"\n"):
        c = os.read(0, 1)
        if not c or len(text) > 4096:
            os._exit(0 if not text else 2)
        text += c
    return text[:-1].decode()
def regular(path, flags):
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file")
    return fd
def copy(offset, length, source, path):
    sha, src, dst = hashlib.sha256(), regular(source, os.O_RDONLY), -1
    try:
        dst = regular(path, os.O_WRONLY)
        at = offset
        while at < offset + length:
            data = os.pread(src, min(size, offset + length - at), at)
            if not data:
                raise OSError(errno.EIO, "the earlier file is shorter than its proven chunks")
            sha.update(data)
            os.pwrite(dst, data, at)
            at += len(data)
        os.fsync(dst)
        return sha.hexdigest(), os.fstat(dst).st_size
    finally:
        os.close(src)
        if dst >= 0:
            os.close(dst)
def held(path):
    try:
        os.lstat(path)
        return True
    except FileNotFoundError:
        return False
def begin(root, pool, volser, temp):
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name == pool:
                if not entry.is_dir(follow_symlinks=False):
                    return "pool link" if entry.is_symlink() else "pool other"
            elif entry.is_dir(follow_symlinks=False) and held(os.path.join(root, entry.name, volser)):
                return "other " + entry.name.encode("unicode_escape").decode("ascii")[:400]
    try:
        os.mkdir(os.path.join(root, pool))
    except FileExistsError:
        pass
    folder = os.open(os.path.join(root, pool), os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        partial, largest = "-", 0
        ours = re.compile(re.escape("." + volser + ".") + "[0-9a-f]{16}" + re.escape(".autocopy.tmp"))
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.name != temp and ours.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                    try:
                        size = entry.stat(follow_symlinks=False).st_size
                    except FileNotFoundError:
                        continue
                    if size > largest:
                        partial, largest = entry.name, size
        os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder))
        return "begun %d %s" % (largest, partial)
    finally:
        os.close(folder)
def sweep(folder, volser, age):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        ours = re.compile(re.escape("." + volser + ".") + "[0-9a-f]{16}" + re.escape(".autocopy.tmp"))
        removed, before = 0, time.time() - age
        with os.scandir(fd) as entries:
            for entry in entries:
                if not ours.fullmatch(entry.name):
                    continue
                try:
                    found = entry.stat(follow_symlinks=False)
                    if stat.S_ISREG(found.st_mode) and found.st_mtime < before:
                        os.unlink(entry.name, dir_fd=fd)
                        removed += 1
                except FileNotFoundError:
                    continue
        return "swept %d" % removed
    finally:
        os.close(fd)
print("ready 3", flush=True)
while True:
    head = line()
    if head == "begin":
        root, pool, volser, temp = line(), line(), line(), line()
        try:
            print(begin(root, pool, volser, temp), flush=True)
        except OSError as e:
            print("error", e.strerror or e, flush=True)
        continue
    if head.startswith("chunks "):
        _, chunk, path = head.split(" ", 2)
        chunk = int(chunk)
        try:
            fd = regular(path, os.O_RDONLY)
            end = os.fstat(fd).st_size
        except OSError as e:
            print("error", e.strerror or e, flush=True)
            continue
        print("chunks", end, flush=True)
        try:
            for start in range(0, end, chunk):
                sha, at = hashlib.sha256(), start
                while at < min(start + chunk, end):
                    data = os.pread(fd, min(size, start + chunk - at), at)
                    if not data:
                        break
                    sha.update(data)
                    at += len(data)
                print(sha.hexdigest(), flush=True)
        except OSError as e:
            print("error", e.strerror or e, flush=True)
        finally:
            os.close(fd)
        continue
    if head == "sweep":
        folder, volser, age = line(), line(), line()
        try:
            print(sweep(folder, volser, int(age)), flush=True)
        except (OSError, ValueError) as e:
            print("error", getattr(e, "strerror", None) or e, flush=True)
        continue
    if head == "unlink":
        path = line()
        try:
            os.unlink(path)
            print("unlinked", flush=True)
        except OSError as e:
            print("error", e.strerror or e, flush=True)
        continue
    if head == "rename":
        source, path = line(), line()
        try:
            if not stat.S_ISREG(os.lstat(source).st_mode):
                raise OSError(errno.EINVAL, "the temporary file is not a regular file")
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                mode = None
            if mode is not None and not stat.S_ISREG(mode):
                kinds = ((stat.S_ISLNK, "link"), (stat.S_ISDIR, "folder"), (stat.S_ISFIFO, "fifo"))
                print("refused", next((k for test, k in kinds if test(mode)), "special"), flush=True)
                continue
            os.rename(source, path)
            print("renamed", flush=True)
        except OSError as e:
            print("error", e.strerror or e, flush=True)
        continue
    if head.startswith("copy "):
        _, offset, length = head.split(" ")
        source, path = line(), line()
        try:
            print("sha256 %s %d" % copy(int(offset), int(length), source, path), flush=True)
        except OSError as e:
            print("error", e.strerror or e, flush=True)
        continue
    length, at, path = head.split(" ", 2)
    left, failed, fd = int(length), [], -1
    try:
        if at == "new":
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            flags, mode = os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644
        else:
            flags, mode = os.O_WRONLY | os.O_NOFOLLOW | os.O_NONBLOCK, 0
        try:
            fd = os.open(path, flags | DIRECT, mode)
        except OSError:
            fd = os.open(path, flags, mode)
        if at != "new":
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            os.lseek(fd, int(at), os.SEEK_SET)
    except OSError as e:
        failed.append(e)
    writer = threading.Thread(target=write, args=(fd, failed), daemon=True)
    writer.start()
    sha = hashlib.sha256()
    while left > 0:
        view = free.get()
        want, n = min(size, left), 0
        while n < want:
            got = os.readv(0, [view[n:want]])
            if got == 0:
                os._exit(1)
            n += got
        sha.update(view[:n])
        full.put((view, n))
        left -= n
    full.put(None)
    writer.join()
    written = -1
    try:
        if fd >= 0:
            if not failed:
                os.fsync(fd)
                written = os.fstat(fd).st_size
            os.close(fd)
    except OSError as e:
        failed.append(e)
    if failed:
        print("error", getattr(failed[0], "strerror", None) or failed[0], flush=True)
    else:
        print("sha256", sha.hexdigest(), written, flush=True)
