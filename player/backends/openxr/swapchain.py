"""Swapchains in an sRGB format, each image wrapped in its own framebuffer for the renderer."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, field

from ..base import RenderTarget
from .calls import failure, int_call
from .errors import XrSetupError, other_bindings

# GL internal formats, best first: 8-bit sRGB (the compositor decodes it, so the picture has correct gamma).
GL_SRGB8_ALPHA8 = 0x8C43
GL_SRGB8 = 0x8C41
GL_RGBA8 = 0x8058
GL_RGB10_A2 = 0x8059
SRGB_FORMATS = (GL_SRGB8_ALPHA8, GL_SRGB8)
LINEAR_FORMATS = (GL_RGBA8, GL_RGB10_A2)


def choose_format(offered: list[int]) -> tuple[int, bool]:
    """(format, is_srgb) from what the runtime offers; linear formats only when no sRGB one exists."""
    for fmt in SRGB_FORMATS:
        if fmt in offered:
            return fmt, True
    for fmt in LINEAR_FORMATS:
        if fmt in offered:
            return fmt, False
    raise XrSetupError(
        f"The OpenXR runtime offers no colour format Viewpoint can draw to ({[hex(f) for f in offered]}).",
        "Update the headset software or the graphics driver.",
    )


@dataclass
class Swapchain:
    handle: object
    width: int
    height: int
    srgb: bool
    textures: list[int]
    framebuffers: list[int]
    acquired: int | None = None
    released_once: bool = False
    rect: object = field(default=None)
    _infos: tuple = field(default=(), repr=False)
    _targets: list = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, session: object, fmt: int, srgb: bool, width: int, height: int) -> Swapchain:
        import xr
        from OpenGL import GL

        handle = xr.create_swapchain(
            session,
            xr.SwapchainCreateInfo(
                usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT | xr.SwapchainUsageFlags.SAMPLED_BIT,
                format=fmt,
                sample_count=1,
                width=width,
                height=height,
                face_count=1,
                array_size=1,
                mip_count=1,
            ),
        )
        images = xr.enumerate_swapchain_images(handle, xr.SwapchainImageOpenGLKHR)
        textures = [int(im.image) for im in images]
        framebuffers = []
        for tex in textures:
            fbo = int(GL.glGenFramebuffers(1))
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, tex, 0)
            status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
            if status != GL.GL_FRAMEBUFFER_COMPLETE:
                raise XrSetupError(
                    f"A swapchain image cannot be drawn to (framebuffer status {int(status):#x}).",
                    other_bindings().capitalize() + ".",
                )
            framebuffers.append(fbo)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        sc = cls(handle, width, height, srgb, textures, framebuffers)
        sc.rect = xr.Rect2Di(offset=xr.Offset2Di(0, 0), extent=xr.Extent2Di(width, height))
        return sc

    def acquire(self) -> RenderTarget:
        """Acquire and wait for the next image; the target draws into it."""
        if self.acquired is None:
            acquire, wait, _, (index, index_ref), acquire_info, wait_info, _ = self._calls()
            code = acquire(self.handle, acquire_info, index_ref)
            if code < 0:
                raise failure(code)
            code = wait(self.handle, wait_info)
            if code < 0:  # XR_TIMEOUT_EXPIRED cannot happen: the wait is infinite
                raise failure(code)
            self.acquired = index.value
        return self._targets[self.acquired]

    def release(self) -> None:
        if self.acquired is not None:
            _, _, release, _, _, _, release_info = self._calls()
            self.acquired = None
            self.released_once = True
            code = release(self.handle, release_info)
            if code < 0:
                raise failure(code)

    def _calls(self) -> tuple:
        """The per-frame entry points (`calls.int_call`), with their info structures, the image index and the
        render targets made once (not per frame)."""
        if not self._infos:
            import xr

            self._infos = (
                int_call("xrAcquireSwapchainImage"),
                int_call("xrWaitSwapchainImage"),
                int_call("xrReleaseSwapchainImage"),
                _index_and_ref(),  # the acquired image's index, and the pointer the runtime writes it through
                ctypes.byref(xr.SwapchainImageAcquireInfo()),
                ctypes.byref(xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION)),
                ctypes.byref(xr.SwapchainImageReleaseInfo()),
            )
            self._targets = [RenderTarget(fb, self.width, self.height, self.srgb) for fb in self.framebuffers]
        return self._infos

    def destroy(self) -> None:
        import xr
        from OpenGL import GL

        try:
            if self.framebuffers:
                GL.glDeleteFramebuffers(len(self.framebuffers), self.framebuffers)
        except Exception:
            pass
        try:
            xr.destroy_swapchain(self.handle)
        except Exception:
            pass
        self.framebuffers = []


def _index_and_ref() -> tuple[ctypes.c_uint32, object]:
    index = ctypes.c_uint32(0)
    return index, ctypes.byref(index)
