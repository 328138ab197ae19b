"""The image files of a dependency set: `requirements.txt` and `Dockerfile`, rendered (pure) and
written once per user, project and dependency hash (never duplicated, never overwritten)."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from shared.errors import BlobExists
from shared.jobid import DependencySet, JobId
from shared.layout import BlobKind, dockerfile_path, requirements_path
from shared.ports import BlobStore

CPU_BASE = "python:{python}-slim"
GPU_BASE = "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"
_seen_images: WeakKeyDictionary[BlobStore, set[tuple[str, str, str]]] = WeakKeyDictionary()


def image_blob_tags(job: JobId, hash12: str, kind: str) -> dict[str, str]:
    """Tags of an image file: shared by every job of the dependency set, so always retained."""
    return {
        "retain": "true",
        "project": job.project,
        "user": job.user,
        "kind": kind,
        "image": hash12,
    }


def render_requirements(deps: DependencySet) -> str:
    """One requirement per line, sorted, as pip reads them."""
    return "".join(f"{p.strip()}\n" for p in sorted(deps.packages, key=str.lower))


def render_dockerfile(deps: DependencySet) -> str:
    """A Dockerfile that installs the system packages, then `requirements.txt`."""
    base = GPU_BASE if deps.use_gpu else CPU_BASE.format(python=deps.python_version)
    lines = [f"FROM {base}", f"LABEL ascend.python={deps.python_version}"]
    if deps.system_packages:
        packages = " ".join(sorted(deps.system_packages))
        lines.append(
            "RUN apt-get update && apt-get install -y --no-install-recommends "
            f"{packages} && rm -rf /var/lib/apt/lists/*"
        )
    if deps.use_gpu:
        lines.append(
            f"RUN apt-get update && apt-get install -y python{deps.python_version} "
            "python3-pip && rm -rf /var/lib/apt/lists/*"
        )
    lines += [
        "COPY requirements.txt /tmp/requirements.txt",
        "RUN pip install --no-cache-dir -r /tmp/requirements.txt",
        "WORKDIR /workspace",
    ]
    return "\n".join(lines) + "\n"


def write_image_files(blobs: BlobStore, job: JobId, deps: DependencySet) -> int:
    """Write the dependency set's image files unless they exist; how many were written (0-2).

    Create-only writes make this safe under any concurrency; a per-store memory of folders
    already seen only saves the requests."""
    hash12 = deps.calculate_hash()
    seen = _seen_images.setdefault(blobs, set())
    folder = (job.project, job.user, hash12)
    if folder in seen:
        return 0
    files = [
        (requirements_path(*folder), render_requirements(deps), BlobKind.REQUIREMENTS),
        (dockerfile_path(*folder), render_dockerfile(deps), BlobKind.DOCKERFILE),
    ]
    written = 0
    for path, text, kind in files:
        try:
            blobs.write(
                path,
                text.encode(),
                tags=image_blob_tags(job, hash12, kind),
                content_type="text/plain; charset=utf-8",
                create_only=True,
            )
            written += 1
        except BlobExists:
            pass  # another job of the same dependency set wrote it first
    seen.add(folder)
    return written
