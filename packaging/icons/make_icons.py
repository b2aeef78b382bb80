"""Draw the app's icon (original artwork, made here) at every size the bundle needs.

    python packaging/icons/make_icons.py     (writes wecom-auditor-<size>.png, .ico and .icns here)

A speech bubble holding lines of text (the chat archive) on a teal tile, with a gold seal and check
mark (the audit). Drawn once at 1024 px and scaled down; Pillow writes the .ico and .icns.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
TEAL, WHITE, LINE, GOLD, DARK = (24, 104, 112), (255, 255, 255), (150, 190, 195), (232, 176, 48), (120, 80, 0)


def draw(size: int = 1024) -> Image.Image:
    s = size / 1024
    im = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((48 * s, 48 * s, 976 * s, 976 * s), radius=200 * s, fill=TEAL)
    # the speech bubble and its tail
    d.rounded_rectangle((170 * s, 200 * s, 830 * s, 700 * s), radius=110 * s, fill=WHITE)
    d.polygon([(300 * s, 660 * s), (250 * s, 840 * s), (450 * s, 690 * s)], fill=WHITE)
    for i, width in enumerate((480, 400, 300)):
        y = 320 * s + i * 120 * s
        d.rounded_rectangle((260 * s, y, (260 + width) * s, y + 56 * s), radius=28 * s, fill=LINE)
    # the seal with a check mark
    cx, cy, r = 760 * s, 740 * s, 180 * s
    d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=GOLD, outline=WHITE, width=max(1, int(28 * s)))
    d.line([(cx - 85 * s, cy + 5 * s), (cx - 20 * s, cy + 70 * s), (cx + 95 * s, cy - 70 * s)], fill=DARK,
           width=max(1, int(48 * s)), joint="curve")
    return im


def main() -> None:
    big = draw()
    for n in SIZES:
        big.resize((n, n), Image.Resampling.LANCZOS).save(HERE / f"wecom-auditor-{n}.png", optimize=True)
    big.resize((256, 256), Image.Resampling.LANCZOS).save(
        HERE / "wecom-auditor.ico", sizes=[(n, n) for n in SIZES if n <= 256])
    big.resize((512, 512), Image.Resampling.LANCZOS).save(HERE / "wecom-auditor.icns")


if __name__ == "__main__":
    main()
