"""QR codes of payment URIs, as SVG or PNG (segno: no image library needed)."""

from __future__ import annotations

import io

import segno


def render(uri: str, kind: str, scale: int = 6) -> bytes:
    code = segno.make(uri, error="m", micro=False)
    out = io.BytesIO()
    if kind == "svg":
        code.save(out, kind="svg", scale=scale, xmldecl=True, svgns=True)
    else:
        code.save(out, kind="png", scale=scale)
    return out.getvalue()
