"""Written into a python runtime by jrt's python family, and run with the runtime's own
interpreter after packages are installed.

A runtime is built in a staging tree but used at the job's prefix (argv[1], such as
/usr/local). pip writes the staging interpreter's path into the scripts it installs, and
bytecode records where its source was compiled. This rewrites those script headers to the
job's prefix and recompiles the library as checked-hash bytecode that names the job's paths:
valid on a read-only mount, and the same bytes on every build.

The scripts' entries in the installed distributions' RECORD files are updated to the
rewritten bytes, so RECORD stays true and does not carry the staging path's traces.
"""
import base64
import compileall
import csv
import glob
import hashlib
import io
import os
import py_compile
import re
import sys

job_prefix = sys.argv[1].rstrip("/")
prefix = sys.prefix
old = (prefix + "/bin/").encode()
new = (job_prefix + "/bin/").encode()

bindir = os.path.join(prefix, "bin")
rewritten = {}
for name in sorted(os.listdir(bindir)):
    path = os.path.join(bindir, name)
    if os.path.islink(path) or not os.path.isfile(path):
        continue
    with open(path, "rb") as f:
        data = f.read()
    # Only scripts; the path may sit on the #! line or, for long paths, in pip's sh-exec trick.
    head, body = data[:1024], data[1024:]
    if not head.startswith(b"#!") or old not in head:
        continue
    data = head.replace(old, new) + body
    tmp = path + ".jrt-tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.chmod(tmp, os.stat(path).st_mode & 0o7777)
    os.replace(tmp, path)
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    rewritten[os.path.realpath(path)] = ("sha256=" + digest, str(len(data)))

lib = os.path.join(prefix, "lib", "python%d.%d" % sys.version_info[:2])
site = os.path.join(lib, "site-packages")
for record in sorted(glob.glob(os.path.join(site, "*.dist-info", "RECORD"))):
    with open(record, newline="") as f:
        rows = list(csv.reader(f))
    changed = False
    for row in rows:
        if len(row) == 3:
            target = os.path.realpath(os.path.join(site, row[0]))
            if target in rewritten and (row[1], row[2]) != rewritten[target]:
                row[1], row[2] = rewritten[target]
                changed = True
    if changed:
        out = io.StringIO()
        csv.writer(out).writerows(rows)  # pip writes RECORD with csv defaults too
        tmp = record + ".jrt-tmp"
        with open(tmp, "w", newline="") as f:
            f.write(out.getvalue())
        os.replace(tmp, record)

# The same files CPython's own `make install` leaves out: deliberately broken test inputs.
skip = re.compile(r"bad_coding|badsyntax|lib2to3/tests/data")
ok = compileall.compile_dir(
    lib,
    quiet=1,
    force=True,
    workers=0,
    rx=skip,
    stripdir=prefix,
    prependdir=job_prefix,
    invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
)
sys.exit(0 if ok else 1)
