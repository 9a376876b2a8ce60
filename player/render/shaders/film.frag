// Per-pixel equirect projection of a YUV film with the conversion to RGB done here.
// Compiled in variants (the renderer prepends #defines), because software rasterisers run both sides of
// every branch:
//   INTERLEAVED     plane 1 holds UV pairs (NV12, P010); otherwise planes 1 and 2 hold U and V
//   PROJECTION_180  equirect180 (black outside +-90 degrees); otherwise equirect360
//   MODE_EQUIRECT   the target is the eye's equirect picture itself (compositor equirect layers);
//                   otherwise each pixel's view ray (eye fov tangents, eye-to-film matrix) picks its direction
//   WRAP_REGION     360 film whose eye is half the picture's width (left-right stereo): the wrap is blended
//                   by hand inside the half; otherwise the textures repeat horizontally and the sampler does it
//   HAS_FRAME       a picture is uploaded (otherwise the calm scene shows)
//   EFFECTS         welfare softening / calm scene mixes are non-zero
//   LINEAR_OUT      the target encodes sRGB itself (GL_FRAMEBUFFER_SRGB)
in vec2 v_ndc;
out vec4 o_color;

uniform sampler2D u_plane0;        // Y
uniform sampler2D u_plane1;        // U, or interleaved UV
uniform sampler2D u_plane2;        // V
uniform vec2 u_luma_size;          // texels of the whole picture (all eyes)
uniform vec2 u_chroma_size;
uniform float u_scale;             // texel -> integer code value
uniform mat3 u_yuv_matrix;         // code values -> R'G'B'
uniform vec3 u_yuv_offset;

uniform vec4 u_region;             // this eye's rectangle in the picture: s0, t0, width, height (t0 = top)
uniform mat3 u_eye_to_film;
uniform vec4 u_tan;                // tan of the fov angles: left, right, down, up

uniform float u_soften;            // 0..1: dimmed, desaturated picture
uniform float u_calm;              // 0..1: the calm dark scene replaces the film

const float PI = 3.14159265358979;

// Bilinear sample of one plane inside the eye's region. Only the base level exists and is read, so the jump
// of u at the 360 wrap cannot select a tiny mip level (the usual seam line). Vertically the sample stays half
// a texel inside the region, so stacked eyes never bleed into each other.
vec4 sample_plane(sampler2D tex, vec2 size, vec2 uv) {
    float h = u_region.w * size.y;
    float ty = (u_region.y * size.y + clamp(uv.y * h, 0.5, h - 0.5)) / size.y;
#ifdef WRAP_REGION
    // Across the wrap, blend the region's last and first columns as the sampler blends any two neighbours.
    float x0 = u_region.x * size.x;
    float w = u_region.z * size.x;
    float x = uv.x * w;
    float f = clamp(x < 0.5 ? x + 0.5 : x - (w - 0.5), 0.0, 1.0);
    vec4 inner = textureLod(tex, vec2((x0 + clamp(x, 0.5, w - 0.5)) / size.x, ty), 0.0);
    vec4 a = textureLod(tex, vec2((x0 + w - 0.5) / size.x, ty), 0.0);
    vec4 b = textureLod(tex, vec2((x0 + 0.5) / size.x, ty), 0.0);
    bool seam = x < 0.5 || x > w - 0.5;
    return seam ? mix(a, b, f) : inner;
#elif defined(PROJECTION_180)
    float w = u_region.z * size.x;
    float tx = (u_region.x * size.x + clamp(uv.x * w, 0.5, w - 0.5)) / size.x;
    return textureLod(tex, vec2(tx, ty), 0.0);
#else
    // The eye spans the full width and the texture repeats horizontally: the sampler filters the seam.
    return textureLod(tex, vec2(uv.x, ty), 0.0);
#endif
}

vec3 film_rgb(vec2 uv) {
    float y = sample_plane(u_plane0, u_luma_size, uv).r;
#ifdef INTERLEAVED
    vec2 c = sample_plane(u_plane1, u_chroma_size, uv).rg;
#else
    vec2 c = vec2(sample_plane(u_plane1, u_chroma_size, uv).r, sample_plane(u_plane2, u_chroma_size, uv).r);
#endif
    return clamp(u_yuv_matrix * (vec3(y, c) * u_scale) + u_yuv_offset, 0.0, 1.0);
}

vec3 calm_scene(vec3 d) {
    float p = normalize(d).y;
    vec3 horizon = vec3(0.085, 0.10, 0.13);
    vec3 zenith = vec3(0.02, 0.025, 0.045);
    vec3 ground = vec3(0.025, 0.025, 0.03);
    return p > 0.0 ? mix(horizon, zenith, sqrt(p)) : mix(horizon, ground, sqrt(-p));
}

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}

void main() {
    vec2 t = v_ndc * 0.5 + 0.5;
#ifdef MODE_EQUIRECT
    vec2 uv = vec2(t.x, 1.0 - t.y);
    #ifdef PROJECTION_180
    float heading = (uv.x - 0.5) * PI;
    #else
    float heading = (uv.x - 0.5) * 2.0 * PI;
    #endif
    float pitch = (0.5 - uv.y) * PI;
    vec3 d = vec3(sin(heading) * cos(pitch), sin(pitch), -cos(heading) * cos(pitch));
    bool inside = true;
#else
    vec3 d = u_eye_to_film * vec3(mix(u_tan.x, u_tan.y, t.x), mix(u_tan.z, u_tan.w, t.y), -1.0);
    float horizontal = length(d.xz);
    float heading = horizontal < 1e-7 ? 0.0 : atan(d.x, -d.z);
    float pitch = atan(d.y, horizontal);
    #ifdef PROJECTION_180
    vec2 uv = vec2(0.5 + heading / PI, 0.5 - pitch / PI);
    bool inside = abs(heading) <= 0.5 * PI;
    #else
    vec2 uv = vec2(fract(0.5 + heading / (2.0 * PI)), 0.5 - pitch / PI);
    bool inside = true;
    #endif
#endif
#ifdef HAS_FRAME
    vec3 rgb = inside ? film_rgb(uv) : vec3(0.0);
#else
    vec3 rgb = calm_scene(d);
#endif
#ifdef EFFECTS
    float lum = dot(rgb, vec3(0.2126, 0.7152, 0.0722));
    rgb = mix(rgb, mix(vec3(lum), rgb, 0.45) * 0.55, u_soften);
    rgb = mix(rgb, calm_scene(d), u_calm);
#endif
#ifdef LINEAR_OUT
    rgb = srgb_to_linear(rgb);
#endif
    o_color = vec4(rgb, 1.0);
}
