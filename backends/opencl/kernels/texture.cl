// texture_sample_2d / _3d: one item per (point, channel); bilinear/trilinear
// taps at x = c * n - 0.5 (texel centres at (i + 0.5) / n).
// mode 0 wrap, 1 clamp, 2 zero (weight 0 outside).

inline void tx_tap(float c, int n, int mode, int* i0, int* i1, float* w0, float* w1) {
  const float x = c * (float)n - 0.5f, x0 = floor(x), f = x - x0;
  const long b = (long)clamp(x0, -1e15f, 1e15f);
  long i[2] = {b, b + 1};
  float w[2] = {1.0f - f, f};
  for (int k = 0; k < 2; ++k) {
    if (mode == 0) i[k] = ((i[k] % n) + n) % n;
    else if (mode == 1) i[k] = clamp(i[k], 0L, (long)n - 1);
    else if (i[k] < 0 || i[k] >= n) { w[k] = 0.0f; i[k] = 0; }
  }
  *i0 = (int)i[0]; *i1 = (int)i[1]; *w0 = w[0]; *w1 = w[1];
}

__kernel void texture_2d(__global const float* tex, ulong t_off, __global const float* uv, ulong c_off,
                         __global float* out, ulong o_off, int H, int W, uint C, int mode, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong p = i / C, c = i % C;
  const float u = uv[c_off + 2 * p], v = uv[c_off + 2 * p + 1];
  float r = 0.0f;
  if (isfinite(u) && isfinite(v)) {
    int x[2], y[2];
    float wx[2], wy[2];
    tx_tap(u, W, mode, &x[0], &x[1], &wx[0], &wx[1]);
    tx_tap(v, H, mode, &y[0], &y[1], &wy[0], &wy[1]);
    for (int b = 0; b < 2; ++b)
      for (int k = 0; k < 2; ++k)
        r += (wy[b] * wx[k]) * tex[t_off + ((ulong)y[b] * (ulong)W + (ulong)x[k]) * C + c];
  }
  out[o_off + i] = r;
}

__kernel void texture_3d(__global const float* g, ulong g_off, __global const float* pts, ulong c_off,
                         __global float* out, ulong o_off, int D, int H, int W, uint C, int mode, ulong base, ulong n) {
  TS_INDEX_OR_RETURN(base, n);
  const ulong p = i / C, c = i % C;
  const float px = pts[c_off + 3 * p], py = pts[c_off + 3 * p + 1], pz = pts[c_off + 3 * p + 2];
  float r = 0.0f;
  if (isfinite(px) && isfinite(py) && isfinite(pz)) {
    int x[2], y[2], z[2];
    float wx[2], wy[2], wz[2];
    tx_tap(px, W, mode, &x[0], &x[1], &wx[0], &wx[1]);
    tx_tap(py, H, mode, &y[0], &y[1], &wy[0], &wy[1]);
    tx_tap(pz, D, mode, &z[0], &z[1], &wz[0], &wz[1]);
    for (int e = 0; e < 2; ++e)
      for (int b = 0; b < 2; ++b)
        for (int k = 0; k < 2; ++k)
          r += (wz[e] * wy[b] * wx[k]) *
               g[g_off + (((ulong)z[e] * (ulong)H + (ulong)y[b]) * (ulong)W + (ulong)x[k]) * C + c];
  }
  out[o_off + i] = r;
}
