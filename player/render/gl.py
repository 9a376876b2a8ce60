"""PyOpenGL's GL namespace, imported only after the platform is chosen (see glplatform.py)."""

from player.render.glplatform import configure_gl_checks, ensure_platform

ensure_platform()

from OpenGL import GL  # noqa: E402

configure_gl_checks()  # per-call error checks only under tests or VIEWPOINT_GL_CHECKS=1 (glplatform.py)

__all__ = ["GL", "rgba_texture"]


def rgba_texture(image) -> int:
    """A new mipmapped, edge-clamped RGBA8 texture holding ``image`` (H x W x 4 uint8, C-contiguous): the
    overlays' and the questionnaire panel's pictures."""
    import ctypes

    h, w = image.shape[:2]
    tex = int(GL.glGenTextures(1))
    GL.glBindTexture(GL.GL_TEXTURE_2D, tex)
    GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
    GL.glPixelStorei(GL.GL_UNPACK_ROW_LENGTH, 0)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)
    GL.glTexImage2D(
        GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
        ctypes.c_void_p(image.ctypes.data),
    )  # fmt: skip
    GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
    return tex
