"""Image files: the dependency hash → packages mapping, recorded once per hash.

`requirements.txt` under `projects/{p}/users/{u}/images/{hash12}/` is parsed (PEP 508 lines;
comments, blank lines and pip options skipped) and recorded create-only as
`_ascend/images/{hash12}.json`. The indexer uses the record when a job's metadata.json lists no
packages of its own: the job's `packages` and `package_names` then come from its image.
A `Dockerfile` adds nothing to index.
"""

from __future__ import annotations

import orjson
from packaging.requirements import InvalidRequirement, Requirement

from shared.errors import BlobExists, BlobNotFound, InvalidBlobPath, InvalidInput
from shared.layout import BlobRef, system_path
from shared.ports import BlobStore

FOLDER = "images"
MAX_REQUIREMENTS_BYTES = 256 << 10


def image_record_path(hash12: str) -> str:
    return system_path(FOLDER, f"{hash12}.json")


def parse_requirements(text: str, *, source: str = "requirements.txt") -> list[str]:
    """The requirement lines of a requirements file, normalized by `packaging`; `InvalidInput`
    naming the line when one is not a requirement."""
    packages: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            packages.append(str(Requirement(line)))
        except InvalidRequirement as exc:
            reason = " ".join(str(exc).split())[:200]
            where = f"{source} line {number}"
            raise InvalidInput(where, f"is not a requirement ({reason})") from None
    return packages


def record_image(blobs: BlobStore, ref: BlobRef) -> bool:
    """Record the packages of `ref` (a requirements.txt) once; False if already recorded."""
    if ref.dep_hash12 is None:
        raise InvalidBlobPath(ref.name, "is not in an image folder (images/{hash12}/)")
    target = image_record_path(ref.dep_hash12)
    if blobs.props(target) is not None:
        return False
    data = blobs.read(ref.name, max_bytes=MAX_REQUIREMENTS_BYTES).data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(ref.name, f"is not UTF-8 text (byte {exc.start})") from None
    record = {
        "hash12": ref.dep_hash12,
        "packages": parse_requirements(text, source=ref.name),
        "source": ref.name,
    }
    try:
        blobs.write(target, orjson.dumps(record), content_type="application/json", create_only=True)
    except BlobExists:
        return False
    return True


def image_packages(blobs: BlobStore, hash12: str) -> list[str]:
    """The packages recorded for `hash12`, or [] when there is no (readable) record."""
    try:
        record = orjson.loads(blobs.read(image_record_path(hash12), max_bytes=1 << 20).data)
    except (BlobNotFound, orjson.JSONDecodeError):
        return []
    packages = record.get("packages") if isinstance(record, dict) else None
    return [p for p in packages if isinstance(p, str)] if isinstance(packages, list) else []
