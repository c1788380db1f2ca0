"""Repack an installed distribution into a wheel, offline and byte-reproducibly.

The sandbox has no package index, but the machine's Python has numpy and scipy installed from
manylinux wheels. pip installs a wheel's files verbatim and lists them (with their sha256) in the
dist-info RECORD, and keeps the wheel's own WHEEL file (tags included), so the wheel can be put back
together from what is installed:

- every file RECORD lists under site-packages, checked against its recorded sha256 (a modified
  install is refused rather than shipped);
- left out: bytecode (__pycache__, pip compiles at install time), the files pip writes at install
  time (INSTALLER, REQUESTED, direct_url.json, RECORD itself) and the console-script wrappers pip
  generated outside site-packages (pip generates them again from entry_points.txt);
- the WHEEL file as installed; the file name's tags are read from it;
- entries sorted (the .dist-info last, RECORD at the very end), dated 1980-01-01, mode 644 or 755:
  the same installed files always give the same bytes.

A stamp (<out-dir>/.stamps/<name>.json) records what the wheel was made from; when the installed
files and this script are unchanged and the wheel still has its recorded sha256, nothing is redone.

Usage: python3 repack-wheel.py <distribution> <out-dir>   (prints the wheel path)
Run it with the interpreter that has the distribution installed.
"""

import base64
import configparser
import csv
import hashlib
import io
import json
import os
import re
import sys
import zipfile
from importlib import metadata

EPOCH = (1980, 1, 1, 0, 0, 0)
INSTALL_TIME_FILES = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def fail(message):
    sys.stderr.write("repack-wheel: %s\n" % message)
    raise SystemExit(1)


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "sha256=" + digest


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def wheel_tags(wheel_text):
    """The wheel file name's tag part (py-abi-plat, compressed sets) from the WHEEL file's Tag lines."""
    tags = [line.split(":", 1)[1].strip() for line in wheel_text.splitlines() if line.startswith("Tag:")]
    if not tags:
        fail("the installed WHEEL file has no Tag line")
    parts = [[], [], []]
    for tag in tags:
        pieces = tag.split("-")
        if len(pieces) != 3:
            fail("unexpected wheel tag %r" % tag)
        for index, piece in enumerate(pieces):
            if piece not in parts[index]:
                parts[index].append(piece)
    expanded = {"%s-%s-%s" % (p, a, s) for p in parts[0] for a in parts[1] for s in parts[2]}
    if expanded != set(tags):
        fail("the tags %s do not form one compressed tag set" % ", ".join(tags))
    return "-".join(".".join(piece) for piece in parts)


def console_scripts(dist):
    text = dist.read_text("entry_points.txt") or ""
    parser = configparser.ConfigParser(delimiters=("=",))
    parser.optionxform = str
    parser.read_string(text)
    names = set()
    for section in ("console_scripts", "gui_scripts"):
        if parser.has_section(section):
            names.update(parser.options(section))
    return names


def collect(dist, info_dir):
    """[(arcname, absolute path)] of the files that belong in the wheel, hashes checked."""
    record_text = dist.read_text("RECORD")
    if record_text is None:
        fail("%s has no RECORD: it was not installed from a wheel by pip" % dist.metadata["Name"])
    scripts = console_scripts(dist)
    entries = []
    for row in csv.reader(io.StringIO(record_text)):
        if not row:
            continue
        path, digest = row[0], row[1] if len(row) > 1 else ""
        if path.startswith("../") or path.startswith("/"):
            if os.path.basename(path) in scripts:
                continue  # a console-script wrapper pip generated from entry_points.txt
            fail("%s installed %s outside site-packages; this script cannot put it back" % (info_dir, path))
        if "__pycache__/" in path or path.endswith((".pyc", ".pyo")):
            continue
        if path.startswith(info_dir + "/") and path[len(info_dir) + 1 :] in INSTALL_TIME_FILES:
            continue
        absolute = str(dist.locate_file(path))
        if not digest.startswith("sha256="):
            fail("%s: RECORD has no sha256 for %s" % (info_dir, path))
        with open(absolute, "rb") as handle:
            data = handle.read()
        if record_hash(data) != digest:
            fail("%s was changed after it was installed (sha256 differs from RECORD); reinstall %s" % (absolute, info_dir))
        entries.append((path, absolute))
    wheel = info_dir + "/WHEEL"
    if wheel not in {path for path, _ in entries}:
        fail("%s: RECORD does not list the WHEEL file" % info_dir)
    return sorted(entries, key=lambda entry: (entry[0].startswith(info_dir + "/"), entry[0]))


def source_digest(dist, info_dir):
    """What the wheel is made from: the installed RECORD and WHEEL, and this script."""
    digest = hashlib.sha256()
    for name in ("RECORD", "WHEEL"):
        digest.update((dist.read_text(name) or "").encode("utf-8") + b"\0")
    with open(os.path.abspath(__file__), "rb") as handle:
        digest.update(handle.read())
    digest.update(info_dir.encode("utf-8"))
    return digest.hexdigest()


def write_wheel(path, entries, info_dir):
    records = []
    tmp_path = path + ".tmp"
    with zipfile.ZipFile(tmp_path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for arcname, absolute in entries:
            with open(absolute, "rb") as handle:
                data = handle.read()
            mode = 0o755 if os.stat(absolute).st_mode & 0o111 else 0o644
            item = zipfile.ZipInfo(arcname, date_time=EPOCH)
            item.external_attr = (0o100000 | mode) << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(item, data)
            records.append("%s,%s,%d\n" % (arcname, record_hash(data), len(data)))
        records.append("%s/RECORD,,\n" % info_dir)
        item = zipfile.ZipInfo(info_dir + "/RECORD", date_time=EPOCH)
        item.external_attr = (0o100000 | 0o644) << 16
        item.compress_type = zipfile.ZIP_DEFLATED
        wheel.writestr(item, "".join(records).encode("utf-8"))
    os.replace(tmp_path, path)


def repack(name, out_dir):
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        fail(
            "%s is not installed in %s; install it (pip install %s) or point PYTHON at an interpreter that has it"
            % (name, sys.executable, name)
        )
    dist_name = dist.metadata["Name"]
    version = dist.version
    info_dirs = {str(f.parent) for f in dist.files or [] if f.name == "WHEEL" and f.parent.name.endswith(".dist-info")}
    if len(info_dirs) != 1:
        fail("%s: cannot tell its .dist-info folder from RECORD (%s)" % (dist_name, sorted(info_dirs)))
    info_dir = info_dirs.pop()
    wheel_text = dist.read_text("WHEEL")
    if wheel_text is None:
        fail("%s has no WHEEL file: it was not installed from a wheel" % info_dir)
    escaped = re.sub(r"[-_.]+", "_", dist_name)
    wheel_name = "%s-%s-%s.whl" % (escaped, version, wheel_tags(wheel_text))
    wheel_path = os.path.join(out_dir, wheel_name)
    stamp_path = os.path.join(out_dir, ".stamps", "%s.json" % escaped.lower())
    source = source_digest(dist, info_dir)

    try:
        with open(stamp_path, encoding="utf-8") as handle:
            stamp = json.load(handle)
        if (
            stamp.get("source") == source
            and stamp.get("wheel") == wheel_name
            and os.path.isfile(wheel_path)
            and file_sha256(wheel_path) == stamp.get("sha256")
        ):
            return wheel_path, False
    except (OSError, ValueError):
        pass

    entries = collect(dist, info_dir)
    os.makedirs(os.path.dirname(stamp_path), exist_ok=True)
    for stale in os.listdir(out_dir):
        if stale.startswith(escaped + "-") and stale.endswith(".whl") and stale != wheel_name:
            os.remove(os.path.join(out_dir, stale))
    write_wheel(wheel_path, entries, info_dir)
    stamp = {"wheel": wheel_name, "sha256": file_sha256(wheel_path), "source": source, "files": len(entries) + 1}
    with open(stamp_path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(stamp, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(stamp_path + ".tmp", stamp_path)
    return wheel_path, True


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: repack-wheel.py <distribution> <out-dir>")
    os.makedirs(sys.argv[2], exist_ok=True)
    path, built = repack(sys.argv[1], sys.argv[2])
    print("%s %s" % ("repacked" if built else "present", path))
