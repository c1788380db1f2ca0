"""Build a pure-Python wheel from a pyproject.toml project, offline and byte-reproducibly.

No build backend, no network: it reads [project] (name, version, description,
requires-python, dependencies) and the packages ([tool.setuptools] packages, or
every top-level folder with an __init__.py), and writes
<name>-<version>-py3-none-any.whl with METADATA, WHEEL, top_level.txt and RECORD.
Entries are sorted and time-stamped 1980-01-01, so the same sources give the same bytes.

Usage: python3 build-wheel.py <project-dir> <out-dir>     (prints the wheel path)
"""

import base64
import hashlib
import os
import re
import sys
import tomllib
import zipfile

EPOCH = (1980, 1, 1, 0, 0, 0)


def record_hash(data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")
    return "sha256=" + digest


def find_packages(project_dir, config):
    packages = config.get("tool", {}).get("setuptools", {}).get("packages")
    if packages:
        return sorted(packages)
    return sorted(
        entry
        for entry in os.listdir(project_dir)
        if os.path.isfile(os.path.join(project_dir, entry, "__init__.py"))
    )


def package_files(project_dir, package):
    root = os.path.join(project_dir, *package.split("."))
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            yield os.path.relpath(path, project_dir).replace(os.sep, "/"), path


def metadata(project):
    lines = [
        "Metadata-Version: 2.1",
        "Name: %s" % project["name"],
        "Version: %s" % project["version"],
    ]
    if project.get("description"):
        lines.append("Summary: %s" % project["description"])
    if project.get("requires-python"):
        lines.append("Requires-Python: %s" % project["requires-python"])
    license_text = project.get("license", {}).get("text") if isinstance(project.get("license"), dict) else None
    if license_text:
        lines.append("License: %s" % license_text)
    for requirement in project.get("dependencies", []):
        lines.append("Requires-Dist: %s" % requirement)
    return "\n".join(lines) + "\n"


def build(project_dir, out_dir):
    with open(os.path.join(project_dir, "pyproject.toml"), "rb") as handle:
        config = tomllib.load(handle)
    project = config.get("project") or {}
    for key in ("name", "version"):
        if not project.get(key):
            raise SystemExit("%s/pyproject.toml: [project] %s is required" % (project_dir, key))
    dist = re.sub(r"[-_.]+", "_", project["name"]).lower()
    version = project["version"]
    info = "%s-%s.dist-info" % (dist, version)
    packages = find_packages(project_dir, config)
    if not packages:
        raise SystemExit("%s: no package folder with an __init__.py found" % project_dir)

    entries = []
    for package in packages:
        for arcname, path in package_files(project_dir, package):
            with open(path, "rb") as handle:
                entries.append((arcname, handle.read()))
    entries.append((info + "/METADATA", metadata(project).encode("utf-8")))
    wheel_meta = "Wheel-Version: 1.0\nGenerator: lambda-ml-deploy build-wheel\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries.append((info + "/WHEEL", wheel_meta.encode("utf-8")))
    top_level = "\n".join(sorted({p.split(".")[0] for p in packages})) + "\n"
    entries.append((info + "/top_level.txt", top_level.encode("utf-8")))
    record = "".join("%s,%s,%d\n" % (name, record_hash(data), len(data)) for name, data in entries)
    record += info + "/RECORD,,\n"
    entries.append((info + "/RECORD", record.encode("utf-8")))

    os.makedirs(out_dir, exist_ok=True)
    wheel_path = os.path.join(out_dir, "%s-%s-py3-none-any.whl" % (dist, version))
    tmp_path = wheel_path + ".tmp"
    with zipfile.ZipFile(tmp_path, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=EPOCH)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(item, data)
    os.replace(tmp_path, wheel_path)
    return wheel_path


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: build-wheel.py <project-dir> <out-dir>")
    print(build(sys.argv[1], sys.argv[2]))
