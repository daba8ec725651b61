"use strict";
// A small WebGL2 viewer for the GLB files that get3d.export writes: one triangle primitive with
// POSITION, NORMAL, TEXCOORD_0 and indices, and one embedded PNG base-colour texture. The mesh is
// lit by a light fixed to the camera plus ambient light, turns by itself, and orbits on drag.
(function (global) {
  const GLB_MAGIC = 0x46546c67, CHUNK_JSON = 0x4e4f534a, CHUNK_BIN = 0x004e4942;
  const COMPONENTS = { SCALAR: 1, VEC2: 2, VEC3: 3, VEC4: 4 };
  const ARRAYS = { 5126: Float32Array, 5125: Uint32Array, 5123: Uint16Array };

  // The first primitive of the first mesh of a GLB as typed arrays, plus its texture as a Blob.
  function parseGlb(buffer) {
    const view = new DataView(buffer);
    if (buffer.byteLength < 20 || view.getUint32(0, true) !== GLB_MAGIC) throw new Error("not a GLB file");
    let offset = 12, doc = null, bin = null;
    while (offset + 8 <= buffer.byteLength) {
      const length = view.getUint32(offset, true), type = view.getUint32(offset + 4, true);
      const start = offset + 8;
      if (type === CHUNK_JSON) doc = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, start, length)));
      if (type === CHUNK_BIN) bin = buffer.slice(start, start + length);
      offset = start + length;
    }
    if (!doc || !bin) throw new Error("GLB without a JSON or a binary chunk");
    function accessor(index) {
      const acc = doc.accessors[index], bv = doc.bufferViews[acc.bufferView];
      const Kind = ARRAYS[acc.componentType];
      if (!Kind) throw new Error("unsupported accessor component type " + acc.componentType);
      if (bv.byteStride && bv.byteStride !== Kind.BYTES_PER_ELEMENT * COMPONENTS[acc.type]) {
        throw new Error("interleaved buffer views are not supported");
      }
      const start = (bv.byteOffset || 0) + (acc.byteOffset || 0);
      return { array: new Kind(bin, start, acc.count * COMPONENTS[acc.type]), min: acc.min, max: acc.max };
    }
    const prim = doc.meshes[0].primitives[0];
    const pos = accessor(prim.attributes.POSITION);
    const out = {
      positions: pos.array, min: pos.min, max: pos.max,
      normals: accessor(prim.attributes.NORMAL).array,
      texcoords: accessor(prim.attributes.TEXCOORD_0).array,
      indices: accessor(prim.indices).array,
      image: null,
    };
    const mat = doc.materials && doc.materials[prim.material];
    const tex = mat && mat.pbrMetallicRoughness && mat.pbrMetallicRoughness.baseColorTexture;
    if (tex) {
      const img = doc.images[doc.textures[tex.index].source], bv = doc.bufferViews[img.bufferView];
      out.image = new Blob([new Uint8Array(bin, bv.byteOffset || 0, bv.byteLength)], { type: img.mimeType });
    }
    return out;
  }

  // ---- column-major 4x4 matrices
  function perspective(fovy, aspect, near, far) {
    const f = 1 / Math.tan(fovy / 2), nf = 1 / (near - far);
    return [f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) * nf, -1, 0, 0, 2 * far * near * nf, 0];
  }
  function lookAt(eye, target, up) {
    const sub = (a, b) => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    const norm = (a) => { const l = Math.hypot(a[0], a[1], a[2]) || 1; return [a[0] / l, a[1] / l, a[2] / l]; };
    const cross = (a, b) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    const dot = (a, b) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    const z = norm(sub(eye, target)), x = norm(cross(up, z)), y = cross(z, x);
    return [x[0], y[0], z[0], 0, x[1], y[1], z[1], 0, x[2], y[2], z[2], 0, -dot(x, eye), -dot(y, eye), -dot(z, eye), 1];
  }
  const VS = `#version 300 es
in vec3 aPos; in vec3 aNrm; in vec2 aUv;
uniform mat4 uProj; uniform mat4 uView;
out vec3 vNrm; out vec2 vUv;
void main() { gl_Position = uProj * uView * vec4(aPos, 1.0); vNrm = mat3(uView) * aNrm; vUv = aUv; }`;
  const FS = `#version 300 es
precision highp float;
in vec3 vNrm; in vec2 vUv; uniform sampler2D uTex; out vec4 color;
void main() {
  vec3 n = normalize(vNrm); if (!gl_FrontFacing) n = -n;
  float diffuse = max(dot(n, normalize(vec3(-0.3, 0.5, 1.0))), 0.0);
  color = vec4(texture(uTex, vUv).rgb * (0.45 + 0.6 * diffuse), 1.0);
}`;

  class MeshViewer {
    constructor(canvas) {
      this.canvas = canvas;
      const gl = canvas.getContext("webgl2", { antialias: true });
      if (!gl) throw new Error("this browser offers no WebGL2, so the 3D view cannot be shown");
      this.gl = gl;
      this.program = this._program(VS, FS);
      this.mesh = null;
      this.azimuth = 0.6; this.elevation = 0.3; this.zoom = 1.0; this.spin = true;
      this._orbitControls();
      const tick = () => { if (this.mesh && this.spin) this.azimuth += 0.006; this.draw(); requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    }

    _program(vsText, fsText) {
      const gl = this.gl, program = gl.createProgram();
      for (const [type, text] of [[gl.VERTEX_SHADER, vsText], [gl.FRAGMENT_SHADER, fsText]]) {
        const shader = gl.createShader(type);
        gl.shaderSource(shader, text); gl.compileShader(shader);
        if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) throw new Error(gl.getShaderInfoLog(shader));
        gl.attachShader(program, shader);
      }
      gl.linkProgram(program);
      if (!gl.getProgramParameter(program, gl.LINK_STATUS)) throw new Error(gl.getProgramInfoLog(program));
      return program;
    }

    _orbitControls() {
      let last = null;
      this.canvas.addEventListener("pointerdown", (e) => { last = [e.clientX, e.clientY]; this.spin = false; this.canvas.setPointerCapture(e.pointerId); });
      this.canvas.addEventListener("pointermove", (e) => {
        if (!last) return;
        this.azimuth -= (e.clientX - last[0]) * 0.01;
        this.elevation = Math.max(-1.5, Math.min(1.5, this.elevation + (e.clientY - last[1]) * 0.01));
        last = [e.clientX, e.clientY];
      });
      const release = () => { last = null; this.spin = true; };
      this.canvas.addEventListener("pointerup", release);
      this.canvas.addEventListener("pointercancel", release);
      this.canvas.addEventListener("wheel", (e) => { e.preventDefault(); this.zoom = Math.max(0.3, Math.min(4, this.zoom * Math.exp(e.deltaY * 0.001))); }, { passive: false });
    }

    // Show the GLB in `buffer` (an ArrayBuffer); resolves with the number of triangles drawn.
    async show(buffer) {
      const parsed = parseGlb(buffer), gl = this.gl;
      const bitmap = parsed.image ? await createImageBitmap(parsed.image, { colorSpaceConversion: "none", premultiplyAlpha: "none" }) : null;
      if (this.mesh) this._release(this.mesh);
      const vao = gl.createVertexArray();
      gl.bindVertexArray(vao);
      const buffers = [];
      for (const [name, data, size] of [["aPos", parsed.positions, 3], ["aNrm", parsed.normals, 3], ["aUv", parsed.texcoords, 2]]) {
        const b = gl.createBuffer(); buffers.push(b);
        gl.bindBuffer(gl.ARRAY_BUFFER, b); gl.bufferData(gl.ARRAY_BUFFER, data, gl.STATIC_DRAW);
        const loc = gl.getAttribLocation(this.program, name);
        gl.enableVertexAttribArray(loc); gl.vertexAttribPointer(loc, size, gl.FLOAT, false, 0, 0);
      }
      const ib = gl.createBuffer(); buffers.push(ib);
      gl.bindBuffer(gl.ELEMENT_ARRAY_BUFFER, ib); gl.bufferData(gl.ELEMENT_ARRAY_BUFFER, parsed.indices, gl.STATIC_DRAW);
      gl.bindVertexArray(null);
      const texture = gl.createTexture();
      gl.bindTexture(gl.TEXTURE_2D, texture);
      if (bitmap) {
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, bitmap);
        gl.generateMipmap(gl.TEXTURE_2D);
        gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR_MIPMAP_LINEAR);
      } else {
        gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, 1, 1, 0, gl.RGBA, gl.UNSIGNED_BYTE, new Uint8Array([200, 200, 200, 255]));
      }
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
      const lo = parsed.min || [-0.5, -0.5, -0.5], hi = parsed.max || [0.5, 0.5, 0.5];
      const center = [0, 1, 2].map((i) => (lo[i] + hi[i]) / 2);
      const radius = Math.max(1e-3, Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 2);
      this.mesh = { vao, buffers, texture, count: parsed.indices.length, type: parsed.indices instanceof Uint32Array ? gl.UNSIGNED_INT : gl.UNSIGNED_SHORT, center, radius };
      this.draw();
      return parsed.indices.length / 3;
    }

    _release(mesh) {
      const gl = this.gl;
      gl.deleteVertexArray(mesh.vao); gl.deleteTexture(mesh.texture);
      for (const b of mesh.buffers) gl.deleteBuffer(b);
    }

    draw() {
      const gl = this.gl, c = this.canvas;
      gl.viewport(0, 0, c.width, c.height);
      gl.clearColor(1, 1, 1, 1);
      gl.clear(gl.COLOR_BUFFER_BIT | gl.DEPTH_BUFFER_BIT);
      if (!this.mesh) return;
      const m = this.mesh, fov = 0.6, dist = this.zoom * m.radius / Math.sin(fov / 2) * 1.05;
      const eye = [
        m.center[0] + dist * Math.cos(this.elevation) * Math.sin(this.azimuth),
        m.center[1] + dist * Math.sin(this.elevation),
        m.center[2] + dist * Math.cos(this.elevation) * Math.cos(this.azimuth),
      ];
      gl.enable(gl.DEPTH_TEST);
      gl.useProgram(this.program);
      gl.uniformMatrix4fv(gl.getUniformLocation(this.program, "uProj"), false, perspective(fov, c.width / c.height, dist * 0.05, dist * 4));
      gl.uniformMatrix4fv(gl.getUniformLocation(this.program, "uView"), false, lookAt(eye, m.center, [0, 1, 0]));
      gl.activeTexture(gl.TEXTURE0); gl.bindTexture(gl.TEXTURE_2D, m.texture);
      gl.uniform1i(gl.getUniformLocation(this.program, "uTex"), 0);
      gl.bindVertexArray(m.vao);
      gl.drawElements(gl.TRIANGLES, m.count, m.type, 0);
      gl.bindVertexArray(null);
    }

    // A small PNG data URL of the current view (for the gallery).
    thumbnail(size) {
      this.draw();
      const small = document.createElement("canvas");
      small.width = small.height = size;
      small.getContext("2d").drawImage(this.canvas, 0, 0, size, size);
      return small.toDataURL("image/png");
    }
  }

  global.MeshViewer = MeshViewer;
  global.parseGlb = parseGlb;
})(window);
