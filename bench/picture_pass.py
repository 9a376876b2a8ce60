"""The cheapest pass that draws a picture: a full-viewport triangle, one texture fetch per pixel.

The reference the renderer's own pass is compared with (bench/render.py), and the draw the bare OpenXR loop
does with ``--draw`` (scripts/xr/bare_loop.py, for bench/xr_frame.py). A one-colour triangle would not do as a
reference: llvmpipe treats it almost like a clear.
"""

from __future__ import annotations

VERTEX = """#version 330 core
out vec2 v;
void main() {
    vec2 p = vec2(float((gl_VertexID & 1) << 2) - 1.0, float((gl_VertexID & 2) << 1) - 1.0);
    v = p * 0.5 + 0.5;
    gl_Position = vec4(p, 0.0, 1.0);
}
"""
FRAGMENT = """#version 330 core
in vec2 v; out vec4 o; uniform sampler2D t;
void main() { o = vec4(vec3(textureLod(t, v, 0.0).r), 1.0); }
"""


def picture_program() -> int:
    """The linked program (texture unit 0); the caller binds a vertex array and the texture."""
    from OpenGL import GL
    from OpenGL.GL import shaders

    return int(
        shaders.compileProgram(
            shaders.compileShader(VERTEX, GL.GL_VERTEX_SHADER),
            shaders.compileShader(FRAGMENT, GL.GL_FRAGMENT_SHADER),
            validate=False,
        )
    )
