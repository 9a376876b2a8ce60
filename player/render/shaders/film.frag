// Per-pixel equirect projection of a YUV film with the conversion to RGB done here.
// u_mode 0: each pixel's view ray (eye fov tangents, eye-to-film matrix) picks its film direction.
// u_mode 1: the target is the eye's equirect picture itself (for compositor equirect layers).
in vec2 v_ndc;
out vec4 o_color;

uniform sampler2D u_plane0;        // Y
uniform sampler2D u_plane1;        // U, or interleaved UV (NV12/P010)
uniform sampler2D u_plane2;        // V
uniform int u_interleaved;         // 1 when plane1 holds UV pairs
uniform vec2 u_luma_size;          // texels of the whole picture (all eyes)
uniform vec2 u_chroma_size;
uniform float u_scale;             // texel -> integer code value
uniform mat3 u_yuv_matrix;         // code values -> R'G'B'
uniform vec3 u_yuv_offset;
uniform int u_has_frame;

uniform int u_mode;
uniform int u_projection;          // 0 equirect360, 1 equirect180
uniform vec4 u_region;             // this eye's rectangle in the picture: s0, t0, width, height (t0 = top)
uniform mat3 u_eye_to_film;
uniform vec4 u_tan;                // tan of the fov angles: left, right, down, up

uniform float u_soften;            // 0..1: dimmed, desaturated picture
uniform float u_calm;              // 0..1: the calm dark scene replaces the film
uniform int u_linear_out;          // 1 when the target encodes sRGB itself (GL_FRAMEBUFFER_SRGB)

const float PI = 3.14159265358979;

// Bilinear sample of one plane inside the eye's region. Only the base level is ever read (no mipmaps),
// so the jump of u at the 360 wrap cannot select a tiny mip level; across the wrap the two edge
// columns are blended by hand so that the seam filters like any other pair of columns.
vec4 sample_plane(sampler2D tex, vec2 size, vec2 uv, bool wrap_u) {
    float x0 = u_region.x * size.x;
    float w = u_region.z * size.x;
    float y0 = u_region.y * size.y;
    float h = u_region.w * size.y;
    float x = uv.x * w;
    float ty = (y0 + clamp(uv.y * h, 0.5, h - 0.5)) / size.y;
    if (wrap_u && (x < 0.5 || x > w - 0.5)) {
        float f = x < 0.5 ? x + 0.5 : x - (w - 0.5);
        vec4 a = textureLod(tex, vec2((x0 + w - 0.5) / size.x, ty), 0.0);
        vec4 b = textureLod(tex, vec2((x0 + 0.5) / size.x, ty), 0.0);
        return mix(a, b, clamp(f, 0.0, 1.0));
    }
    return textureLod(tex, vec2((x0 + clamp(x, 0.5, w - 0.5)) / size.x, ty), 0.0);
}

vec3 film_rgb(vec2 uv, bool wrap_u) {
    float y = sample_plane(u_plane0, u_luma_size, uv, wrap_u).r;
    vec2 c;
    if (u_interleaved == 1) {
        c = sample_plane(u_plane1, u_chroma_size, uv, wrap_u).rg;
    } else {
        c = vec2(sample_plane(u_plane1, u_chroma_size, uv, wrap_u).r,
                 sample_plane(u_plane2, u_chroma_size, uv, wrap_u).r);
    }
    vec3 rgb = u_yuv_matrix * (vec3(y, c) * u_scale) + u_yuv_offset;
    return clamp(rgb, 0.0, 1.0);
}

vec3 calm_scene(vec3 d) {
    float p = normalize(d).y;
    vec3 horizon = vec3(0.085, 0.10, 0.13);
    vec3 zenith = vec3(0.02, 0.025, 0.045);
    vec3 ground = vec3(0.025, 0.025, 0.03);
    vec3 c = p > 0.0 ? mix(horizon, zenith, sqrt(p)) : mix(horizon, ground, sqrt(-p));
    return c;
}

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}

void main() {
    vec2 t = v_ndc * 0.5 + 0.5;
    vec3 d;
    vec2 uv;
    bool inside = true;
    bool wrap_u = u_projection == 0;
    if (u_mode == 1) {
        uv = vec2(t.x, 1.0 - t.y);
        float heading = (uv.x - 0.5) * (u_projection == 0 ? 2.0 * PI : PI);
        float pitch = (0.5 - uv.y) * PI;
        d = vec3(sin(heading) * cos(pitch), sin(pitch), -cos(heading) * cos(pitch));
    } else {
        d = u_eye_to_film * vec3(mix(u_tan.x, u_tan.y, t.x), mix(u_tan.z, u_tan.w, t.y), -1.0);
        float horizontal = length(d.xz);
        float heading = horizontal < 1e-7 ? 0.0 : atan(d.x, -d.z);
        float pitch = atan(d.y, horizontal);
        if (u_projection == 0) {
            uv = vec2(fract(0.5 + heading / (2.0 * PI)), 0.5 - pitch / PI);
        } else {
            uv = vec2(0.5 + heading / PI, 0.5 - pitch / PI);
            inside = abs(heading) <= 0.5 * PI;
        }
    }
    vec3 rgb = vec3(0.0);
    if (u_has_frame == 1 && inside) {
        rgb = film_rgb(uv, wrap_u);
    }
    if (u_soften > 0.0) {
        float lum = dot(rgb, vec3(0.2126, 0.7152, 0.0722));
        vec3 soft = mix(vec3(lum), rgb, 0.45) * 0.55;
        rgb = mix(rgb, soft, u_soften);
    }
    if (u_calm > 0.0 || u_has_frame == 0) {
        rgb = mix(rgb, calm_scene(d), u_has_frame == 0 ? 1.0 : u_calm);
    }
    if (u_linear_out == 1) {
        rgb = srgb_to_linear(rgb);
    }
    o_color = vec4(rgb, 1.0);
}
