"""Offscreen render targets (framebuffer + colour texture) and reading their pixels back."""

from __future__ import annotations

import numpy as np

from player.render.gl import GL
from player.render.views import RenderTarget


class OffscreenTarget:
    """A framebuffer object with an RGBA8 (or sRGB8_ALPHA8) colour texture of the given size."""

    def __init__(self, width: int, height: int, srgb: bool = False) -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"render target size {width}x{height}: expected positive width and height")
        self.width, self.height, self.srgb = width, height, srgb
        self.texture = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.texture)
        internal = GL.GL_SRGB8_ALPHA8 if srgb else GL.GL_RGBA8
        GL.glTexImage2D(
            GL.GL_TEXTURE_2D, 0, internal, width, height, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None
        )
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        self.framebuffer = int(GL.glGenFramebuffers(1))
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.framebuffer)
        GL.glFramebufferTexture2D(
            GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self.texture, 0
        )
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RuntimeError(f"offscreen framebuffer {width}x{height} incomplete (0x{int(status):x})")

    @property
    def target(self) -> RenderTarget:
        return RenderTarget(self.framebuffer, self.width, self.height, self.srgb)

    def read_rgb(self) -> np.ndarray:
        """The pixels as an (height, width, 3) uint8 array, top row first."""
        return read_framebuffer(self.framebuffer, self.width, self.height)

    def delete(self) -> None:
        if self.framebuffer:
            GL.glDeleteFramebuffers(1, [self.framebuffer])
            GL.glDeleteTextures([self.texture])
            self.framebuffer = self.texture = 0


def read_framebuffer(framebuffer: int, width: int, height: int, x: int = 0) -> np.ndarray:
    """The (height, width, 3) pixels from column ``x`` on, top row first."""
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, framebuffer)
    GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
    data = GL.glReadPixels(x, 0, width, height, GL.GL_RGB, GL.GL_UNSIGNED_BYTE)
    GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
    pixels = np.frombuffer(data, dtype=np.uint8).reshape(height, width, 3)
    return np.ascontiguousarray(pixels[::-1])
