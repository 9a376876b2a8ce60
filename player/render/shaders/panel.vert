// A world-placed quad (the headset's questionnaire panel, its highlight, cursor and ray): a corner plus two
// edge vectors in the head-centred app space, projected with the eye's view-projection matrix.
uniform mat4 u_view_proj;
uniform vec3 u_origin;  // the corner at uv (0, 0): the picture's top left
uniform vec3 u_axis_u;  // to the corner at uv (1, 0)
uniform vec3 u_axis_v;  // to the corner at uv (0, 1)
out vec2 v_uv;

void main() {
    vec2 corner = vec2(float(gl_VertexID & 1), float((gl_VertexID >> 1) & 1));
    v_uv = corner;
    gl_Position = u_view_proj * vec4(u_origin + corner.x * u_axis_u + corner.y * u_axis_v, 1.0);
}
