"""Redraws a Lucide pictogram for one challenge (rule C1): every coordinate moved.

Rotating the picture with an SVG ``transform`` would leave Lucide's path data in the
served file, byte for byte: a table of ten ``d`` strings would then name every image.
Here each shape becomes a path in absolute coordinates, and every point goes through
the challenge's own rotation, scale and shift, plus a small jitter of its own; the
shapes' order is shuffled. Only a program that recognises the drawn shapes can tell the
objects apart (see :mod:`.image_choice` for what that leaves open).

Supported: ``path`` (commands M L H V A C Q Z, absolute or relative), ``line``,
``circle``, ``rect`` (with ``rx``): all the pictograms of :mod:`.vocabulary` use.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator
from typing import Final

__all__ = ["Command", "Similarity", "redrawn_path", "shapes"]

_TOKEN: Final = re.compile(r"[MmLlHhVvAaCcQqZz]|[-+]?(?:\d*\.\d+|\d+\.?)(?:[eE][-+]?\d+)?")
_ELEMENT: Final = re.compile(r"<(path|line|circle|rect)\b([^>]*)/?>")
_ATTRIBUTE: Final = re.compile(r'([a-z][a-z0-9-]*)="([^"]*)"')
_ARITY: Final = {"M": 2, "L": 2, "H": 1, "V": 1, "A": 7, "C": 6, "Q": 4, "Z": 0}

Command = tuple[str, tuple[float, ...]]


class Similarity:
    """Rotation by ``angle`` degrees and scaling by ``scale`` about the centre of the
    24×24 box, then a shift; each point also moves by up to ``jitter`` on its own."""

    def __init__(
        self,
        rng: random.Random,
        *,
        angle: float,
        scale: float,
        shift: tuple[float, float],
        jitter: float,
    ) -> None:
        self.rng, self.angle, self.scale, self.jitter = rng, angle, scale, jitter
        self._cos = math.cos(math.radians(angle)) * scale
        self._sin = math.sin(math.radians(angle)) * scale
        self._dx, self._dy = shift

    def point(self, x: float, y: float) -> tuple[float, float]:
        x, y = x - 12, y - 12
        wobble = self.jitter
        return (
            12 + self._cos * x - self._sin * y + self._dx + self.rng.uniform(-wobble, wobble),
            12 + self._sin * x + self._cos * y + self._dy + self.rng.uniform(-wobble, wobble),
        )


def shapes(svg_body: str) -> list[list[Command]]:
    """The pictogram's shapes, each as absolute path commands. Raises ``ValueError`` on
    an element or a command this module does not draw (the build tool's test sees it)."""
    found: list[list[Command]] = []
    for name, attributes in _ELEMENT.findall(svg_body):
        values: dict[str, str] = dict(_ATTRIBUTE.findall(attributes))

        def number(
            key: str, default: str | float | None = None, values: dict[str, str] = values
        ) -> float:
            value = values.get(key, default)
            if value is None:
                raise ValueError(f"a shape lacks {key}")
            return float(value)

        if name == "path":
            found.append(list(_absolute(values["d"])))
        elif name == "line":
            found.append([("M", (number("x1"), number("y1"))), ("L", (number("x2"), number("y2")))])
        elif name == "circle":
            cx, cy, r = number("cx"), number("cy"), number("r")
            found.append(
                [
                    ("M", (cx - r, cy)),
                    ("A", (r, r, 0, 1, 0, cx + r, cy)),
                    ("A", (r, r, 0, 1, 0, cx - r, cy)),
                    ("Z", ()),
                ]
            )
        else:  # rect
            x, y = number("x", 0), number("y", 0)
            w, h = number("width"), number("height")
            r = min(number("rx", values.get("ry", 0)), w / 2, h / 2)
            found.append(
                [
                    ("M", (x + r, y)),
                    ("L", (x + w - r, y)),
                    ("A", (r, r, 0, 0, 1, x + w, y + r)),
                    ("L", (x + w, y + h - r)),
                    ("A", (r, r, 0, 0, 1, x + w - r, y + h)),
                    ("L", (x + r, y + h)),
                    ("A", (r, r, 0, 0, 1, x, y + h - r)),
                    ("L", (x, y + r)),
                    ("A", (r, r, 0, 0, 1, x + r, y)),
                    ("Z", ()),
                ]
            )
    if not found:
        raise ValueError("no shape this module can draw")
    return found


def redrawn_path(commands: list[Command], move: Similarity) -> str:
    """One shape's ``d``, every point through ``move``."""
    out: list[str] = []
    for letter, args in commands:
        if letter == "Z":
            out.append("Z")
            continue
        if letter == "A":
            rx, ry, rotation, large, sweep, x, y = args
            ex, ey = move.point(x, y)
            out.append(
                f"A{rx * move.scale:.2f} {ry * move.scale:.2f} {rotation + move.angle:.1f} "
                f"{int(large)} {int(sweep)} {ex:.2f} {ey:.2f}"
            )
            continue
        pairs = [move.point(args[i], args[i + 1]) for i in range(0, len(args), 2)]
        out.append(letter + " ".join(f"{px:.2f} {py:.2f}" for px, py in pairs))
    return "".join(out)


def _absolute(d: str) -> Iterator[Command]:
    """SVG path data as absolute M, L, A, C, Q and Z commands (H and V become L)."""
    tokens = _TOKEN.findall(d)
    if "".join(tokens).replace(" ", "") != re.sub(r"[\s,]", "", d):
        raise ValueError(f"path data this module does not read: {d!r}")
    x = y = start_x = start_y = 0.0
    index, letter = 0, ""
    while index < len(tokens):
        if tokens[index].isalpha():
            letter = tokens[index]
            index += 1
        command = letter.upper()
        if command not in _ARITY:
            raise ValueError(f"path command {letter!r} is not drawn")
        relative = letter.islower()
        if command == "Z":
            x, y = start_x, start_y
            yield ("Z", ())
            continue
        arity = _ARITY[command]
        args = [float(token) for token in tokens[index : index + arity]]
        if len(args) != arity:
            raise ValueError(f"path command {letter!r} lacks arguments in {d!r}")
        index += arity
        if command == "H":
            x = x + args[0] if relative else args[0]
            yield ("L", (x, y))
        elif command == "V":
            y = y + args[0] if relative else args[0]
            yield ("L", (x, y))
        elif command == "A":
            end_x, end_y = args[5], args[6]
            if relative:
                end_x, end_y = x + end_x, y + end_y
            yield ("A", (*args[:5], end_x, end_y))
            x, y = end_x, end_y
        else:
            points = [
                (args[i] + x, args[i + 1] + y) if relative else (args[i], args[i + 1])
                for i in range(0, arity, 2)
            ]
            yield (command, tuple(coordinate for point in points for coordinate in point))
            x, y = points[-1]
            if command == "M":
                start_x, start_y = x, y
                letter = "l" if relative else "L"  # further pairs are line-tos
