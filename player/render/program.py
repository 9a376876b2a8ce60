"""Shader programs built from the .glsl files shipped beside this module."""

from __future__ import annotations

from functools import cache
from importlib import resources

from player.render.gl import GL
from player.render.gl_held import held_gl

HEADER_CORE = "#version 330 core\n"
HEADER_ES = "#version 300 es\nprecision highp float;\nprecision highp int;\n"


class ShaderError(RuntimeError):
    """A shader failed to compile or link; the message carries the driver's log and the file name."""


@cache
def shader_source(name: str) -> str:
    return resources.files("player.render").joinpath("shaders", name).read_text(encoding="utf-8")


def _compile(kind: int, name: str, header: str) -> int:
    shader = GL.glCreateShader(kind)
    GL.glShaderSource(shader, header + shader_source(name))
    GL.glCompileShader(shader)
    if not GL.glGetShaderiv(shader, GL.GL_COMPILE_STATUS):
        log = GL.glGetShaderInfoLog(shader)
        GL.glDeleteShader(shader)
        raise ShaderError(f"shaders/{name} did not compile: {_text(log)}")
    return shader


def _text(log: bytes | str) -> str:
    return log.decode(errors="replace").strip() if isinstance(log, bytes) else str(log).strip()


class Program:
    """A linked program with cached uniform locations."""

    def __init__(
        self, vertex: str, fragment: str, header: str = HEADER_CORE, defines: tuple[str, ...] = ()
    ) -> None:
        header = header + "".join(f"#define {name}\n" for name in defines)
        vs = _compile(GL.GL_VERTEX_SHADER, vertex, header)
        fs = _compile(GL.GL_FRAGMENT_SHADER, fragment, header)
        self.id = GL.glCreateProgram()
        GL.glAttachShader(self.id, vs)
        GL.glAttachShader(self.id, fs)
        GL.glLinkProgram(self.id)
        GL.glDeleteShader(vs)
        GL.glDeleteShader(fs)
        if not GL.glGetProgramiv(self.id, GL.GL_LINK_STATUS):
            log = GL.glGetProgramInfoLog(self.id)
            GL.glDeleteProgram(self.id)
            raise ShaderError(f"shaders/{vertex} + shaders/{fragment} did not link: {_text(log)}")
        self._locations: dict[str, int] = {}
        self._values: dict[str, object] = {}  # uniforms set through set1f/set4f, as this program holds them
        self.uniform_key: object = None  # the caller's key for the uniform values it last set here
        self._gl = held_gl()  # the per-frame calls, keeping the GIL (gl_held.py)

    def set1f(self, name: str, value: float) -> None:
        """glUniform1f, skipped when the program already holds this value."""
        if self._values.get(name) != value:
            self._gl.glUniform1f(self.loc(name), value)
            self._values[name] = value

    def set4f(self, name: str, value: tuple[float, float, float, float]) -> None:
        """glUniform4f, skipped when the program already holds this value."""
        if self._values.get(name) != value:
            self._gl.glUniform4f(self.loc(name), *value)
            self._values[name] = value

    def loc(self, name: str) -> int:
        if name not in self._locations:
            self._locations[name] = GL.glGetUniformLocation(self.id, name)
        return self._locations[name]

    def use(self) -> None:
        self._gl.glUseProgram(self.id)

    def delete(self) -> None:
        if self.id:
            GL.glDeleteProgram(self.id)
            self.id = 0
