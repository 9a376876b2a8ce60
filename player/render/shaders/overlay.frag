// Premultiplied-alpha overlay image (text, icons) faded by u_alpha.
in vec2 v_uv;
out vec4 o_color;

uniform sampler2D u_image;
uniform float u_alpha;
uniform int u_linear_out;

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}

void main() {
    vec4 c = texture(u_image, v_uv);
    vec3 rgb = c.a > 0.0 ? c.rgb / c.a : vec3(0.0);
    if (u_linear_out == 1) {
        rgb = srgb_to_linear(rgb);
    }
    float a = c.a * u_alpha;
    o_color = vec4(rgb * a, a);
}
