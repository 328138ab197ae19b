"""The front-end files the dashboard serves, vendored from npm (no CDN, no build step).

The source of truth is `package.json` + `package-lock.json`; the files below are copied out of
`node_modules/` into `dashboard/static/vendor/` (committed, so the Functions package carries them
without npm). After changing a version in package.json: `npm install`, then `make vendor`
(`python -m dashboard.assets`); a unit test fails while a copy differs from node_modules.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
STATIC = ROOT / "static"
VENDOR = STATIC / "vendor"

# destination under static/vendor/ -> source under node_modules/
VENDORED: dict[str, str] = {
    "uplot/uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uplot/uPlot.min.css": "uplot/dist/uPlot.min.css",
    "uplot/LICENSE": "uplot/LICENSE",
    "swagger-ui/swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui/swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
    "swagger-ui/favicon-32x32.png": "swagger-ui-dist/favicon-32x32.png",
    "swagger-ui/LICENSE": "swagger-ui-dist/LICENSE",
    "swagger-ui/NOTICE": "swagger-ui-dist/NOTICE",
}


def refresh(node_modules: Path) -> list[Path]:
    """Copy every vendored file from `node_modules`; the paths written."""
    written = []
    for destination, source in VENDORED.items():
        target = VENDOR / destination
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_modules / source, target)
        written.append(target)
    return written


if __name__ == "__main__":
    modules = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "node_modules"
    for path in refresh(modules):
        print(path.relative_to(ROOT.parent))
