// The panel's picture (premultiplied alpha, top row first), or a flat colour when u_solid.a >= 0.
in vec2 v_uv;
out vec4 o_color;

uniform sampler2D u_image;
uniform float u_alpha;
uniform int u_linear_out;
uniform vec4 u_solid;  // straight rgb and alpha; alpha < 0: sample u_image

vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(vec3(0.04045), c));
}

void main() {
    vec3 rgb;
    float a;
    if (u_solid.a >= 0.0) {
        rgb = u_solid.rgb;
        a = u_solid.a;
    } else {
        vec4 c = texture(u_image, v_uv);
        rgb = c.a > 0.0 ? c.rgb / c.a : vec3(0.0);
        a = c.a;
    }
    if (u_linear_out == 1) {
        rgb = srgb_to_linear(rgb);
    }
    a *= u_alpha;
    o_color = vec4(rgb * a, a);
}
