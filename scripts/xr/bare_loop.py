"""Reference for bench/xr_frame.py: the least a Python OpenXR client can do per frame (pyopenxr, EGL).

xrWaitFrame, xrBeginFrame, xrLocateViews, acquire/wait/clear/release one swapchain image per eye, and
xrEndFrame with a projection layer. With --draw each eye gets a full-viewport triangle showing a small texture
instead of a clear (what the GL driver does to draw any picture; on a software rasteriser that is CPU on this
thread).
Prints JSON: this thread's CPU milliseconds per frame from xrWaitFrame returning to xrEndFrame returning
(like OpenXRBackend.stats.cpu_ms) and to the next xrWaitFrame call (loop_cpu_ms).

usage: python scripts/xr/bare_loop.py [FRAMES] [--draw]
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
import time

os.environ.setdefault("EGL_PLATFORM", "surfaceless")


def picture_pass():
    """The cheapest pass that draws a picture (bench/picture_pass.py) and a small texture for it."""
    from OpenGL import GL

    from bench.picture_pass import picture_program

    program = picture_program()
    texture = GL.glGenTextures(1)
    GL.glBindTexture(GL.GL_TEXTURE_2D, texture)
    pixels = bytes((x * 4) % 256 for x in range(64 * 64 * 4))
    GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, 64, 64, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, pixels)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
    GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
    return program, GL.glGenVertexArrays(1)


def main(frames: int, draw: bool = False) -> None:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    import xr
    from OpenGL import GL

    from player.backends.openxr.graphics import create_binding
    from player.backends.openxr.runtime import create_instance, get_hmd_system

    instance, enabled, _ = create_instance(["XR_KHR_opengl_enable", "XR_MNDX_egl_enable"], [])
    system = get_hmd_system(instance)
    xr.get_opengl_graphics_requirements_khr(instance, system)
    gl = create_binding("egl", enabled)
    session = xr.create_session(
        instance,
        xr.SessionCreateInfo(system_id=system, next=ctypes.cast(ctypes.pointer(gl.binding), ctypes.c_void_p)),
    )
    space = xr.create_reference_space(
        session, xr.ReferenceSpaceCreateInfo(reference_space_type=xr.ReferenceSpaceType.LOCAL)
    )
    vct = xr.ViewConfigurationType.PRIMARY_STEREO
    chains = []
    for v in xr.enumerate_view_configuration_views(instance, system, vct):
        w, h = v.recommended_image_rect_width, v.recommended_image_rect_height
        sc = xr.create_swapchain(
            session,
            xr.SwapchainCreateInfo(
                usage_flags=xr.SwapchainUsageFlags.COLOR_ATTACHMENT_BIT,
                format=GL.GL_SRGB8_ALPHA8,
                sample_count=1,
                width=w,
                height=h,
                face_count=1,
                array_size=1,
                mip_count=1,
            ),
        )
        texs = [im.image for im in xr.enumerate_swapchain_images(sc, xr.SwapchainImageOpenGLKHR)]
        fbos = []
        for tex in texs:
            fbo = GL.glGenFramebuffers(1)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbo)
            GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, tex, 0)
            fbos.append(fbo)
        chains.append((sc, w, h, fbos))
    program, vao = picture_pass() if draw else (0, 0)
    cpu: list[float] = []
    loop: list[float] = []  # from wait_frame returning to the next wait_frame call
    c0 = None
    running, done = False, 0
    deadline = time.monotonic() + 120
    while done < frames and time.monotonic() < deadline:
        while True:
            try:
                ev = xr.poll_event(instance)
            except xr.EventUnavailable:
                break
            if xr.StructureType(ev.type) == xr.StructureType.EVENT_DATA_SESSION_STATE_CHANGED:
                e = ctypes.cast(ctypes.byref(ev), ctypes.POINTER(xr.EventDataSessionStateChanged)).contents
                if xr.SessionState(e.state) == xr.SessionState.READY:
                    xr.begin_session(session, xr.SessionBeginInfo(vct))
                    running = True
        if not running:
            time.sleep(0.01)
            continue
        if c0 is not None:
            loop.append((time.thread_time() - c0) * 1e3)
        fs = xr.wait_frame(session)
        c0 = time.thread_time()
        xr.begin_frame(session)
        _, views = xr.locate_views(
            session,
            xr.ViewLocateInfo(
                view_configuration_type=vct, display_time=fs.predicted_display_time, space=space
            ),
        )
        pviews = (xr.CompositionLayerProjectionView * 2)(
            *[xr.CompositionLayerProjectionView() for _ in range(2)]
        )
        for pv, v, (sc, w, h, fbos) in zip(pviews, views, chains):
            i = xr.acquire_swapchain_image(sc, xr.SwapchainImageAcquireInfo())
            xr.wait_swapchain_image(sc, xr.SwapchainImageWaitInfo(timeout=xr.INFINITE_DURATION))
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, fbos[i])
            GL.glViewport(0, 0, w, h)
            if draw:
                GL.glUseProgram(program)
                GL.glBindVertexArray(vao)
                GL.glDrawArrays(GL.GL_TRIANGLES, 0, 3)
            else:
                GL.glClearColor(0.5, 0.5, 0.5, 1.0)
                GL.glClear(GL.GL_COLOR_BUFFER_BIT)
            xr.release_swapchain_image(sc, xr.SwapchainImageReleaseInfo())
            pv.pose, pv.fov = v.pose, v.fov
            pv.sub_image.swapchain = sc
            pv.sub_image.image_rect = xr.Rect2Di(extent=xr.Extent2Di(w, h))
        layer = xr.CompositionLayerProjection(space=space, views=pviews)
        xr.end_frame(
            session,
            xr.FrameEndInfo(
                display_time=fs.predicted_display_time,
                environment_blend_mode=xr.EnvironmentBlendMode.OPAQUE,
                layers=[ctypes.byref(layer)],
            ),
        )
        cpu.append((time.thread_time() - c0) * 1e3)
        done += 1
    print(json.dumps({"cpu_ms": cpu, "loop_cpu_ms": loop}))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, "--draw" in sys.argv[2:])
