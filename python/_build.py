"""_build.py -- a PEP 517 build backend for the fmd binding with no
dependencies: a wheel is a zip of the package with its metadata (PEP 427),
and that is all this package needs (pure Python; libfmd is found at import).
pip uses it for `pip install ./python`, offline."""
import base64
import hashlib
import os
import zipfile

NAME, VERSION = "fmd", "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
DIST = "%s-%s.dist-info" % (NAME, VERSION)
METADATA = ("Metadata-Version: 2.1\nName: %s\nVersion: %s\nSummary: The exact oracle of flow matching and "
            "diffusion models: a NumPy binding to libfmd\nRequires-Python: >=3.9\nRequires-Dist: numpy\n"
            % (NAME, VERSION))
WHEEL = "Wheel-Version: 1.0\nGenerator: fmd _build.py\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def get_requires_for_build_wheel(config_settings=None):
    return []


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def _files():
    pkg = os.path.join(HERE, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") and name != "_config.py":
            with open(os.path.join(pkg, name), "rb") as f:
                yield "%s/%s" % (NAME, name), f.read()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel = "%s-%s-py3-none-any.whl" % (NAME, VERSION)
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in list(_files()) + [(DIST + "/METADATA", METADATA.encode()),
                                               (DIST + "/WHEEL", WHEEL.encode())]:
            z.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        records.append(DIST + "/RECORD,,")
        z.writestr(DIST + "/RECORD", "\n".join(records) + "\n")
    return wheel


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    os.makedirs(os.path.join(metadata_directory, DIST), exist_ok=True)
    with open(os.path.join(metadata_directory, DIST, "METADATA"), "w") as f:
        f.write(METADATA)
    return DIST
