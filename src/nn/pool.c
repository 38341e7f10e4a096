/* Spatial pooling on [C,H,W] maps with PyTorch's semantics: avgpool2d and maxpool2d (floor
 * mode, output floor((H + 2p - k) / s) + 1), adaptive_avgpool2d (PyTorch's window formula) and
 * sum_pool (the sum over all positions of each channel, as spike-driven self-attention sums
 * K ⊙ V over its tokens).
 *
 * Pooling is stateless, so T folds into the batch: every (row, channel) plane is independent and
 * the planes are split over threads. A plane's backward scatters into its own input plane in a
 * fixed order, so overlapping windows (kernel 3, stride 2) stay deterministic. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

typedef struct {
  sb_layer base;
  int C, H, W, OH, OW;
  int k, s, p;       /* avg/max: kernel, stride, padding */
  int32_t *argmax;   /* max: offset of each output's winner in its input plane */
  int32_t *corner;   /* max 2x2 on maps narrower than 8 outputs: each output's top-left input */
} pool_layer;

/* Planes below this much work run on one thread: forking costs more than it saves. */
enum { POOL_PARALLEL_MIN = 32768 };

static sb_status need_map(sb_builder *b, sb_layer *base, pool_layer *l) {
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const sb_shape s = base->in[0]->shape;
  if (s.ndim != 3) {
    char buf[32];
    return sb_builder_error(b, base, "needs a CxHxW input, got %s", sb_shape_str(s, buf, sizeof buf));
  }
  l->C = s.d[0];
  l->H = s.d[1];
  l->W = s.d[2];
  return SB_OK;
}

static const char *const window_keys[] = {"kernel", "stride", "padding", NULL};

static sb_status window_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  pool_layer *l = (pool_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, window_keys))) return st;
  if ((st = need_map(b, base, l))) return st;
  if (!cJSON_GetObjectItemCaseSensitive(spec, "kernel"))
    return sb_builder_error(b, base, "\"kernel\" is required");
  if ((st = sb_spec_int(b, base, spec, "kernel", 2, 1, 1 << 16, &l->k))) return st;
  if ((st = sb_spec_int(b, base, spec, "stride", l->k, 1, 1 << 16, &l->s))) return st;
  if ((st = sb_spec_int(b, base, spec, "padding", 0, 0, 1 << 16, &l->p))) return st;
  /* PyTorch refuses wider padding: a window could then lie entirely in the padding. */
  if (2 * l->p > l->k)
    return sb_builder_error(b, base, "padding %d is more than half the kernel %d", l->p, l->k);
  if (l->H + 2 * l->p < l->k || l->W + 2 * l->p < l->k)
    return sb_builder_error(b, base, "kernel %d does not fit the %dx%d map with padding %d", l->k,
                            l->H, l->W, l->p);
  l->OH = (l->H + 2 * l->p - l->k) / l->s + 1;
  l->OW = (l->W + 2 * l->p - l->k) / l->s + 1;
  base->out.shape = (sb_shape){3, {l->C, l->OH, l->OW}};
  base->out.is_static = base->in[0]->is_static;
  return SB_OK;
}

static void window_describe(const sb_layer *base, char *buf, size_t n) {
  const pool_layer *l = (const pool_layer *)base;
  const int avg = !strcmp(base->ops->type, "avgpool2d");
  snprintf(buf, n, "kernel %d stride %d padding %d%s", l->k, l->s, l->p,
           l->p == 0 ? "" : avg ? " (zeros counted)" : " (ignored)");
}

static long planes(const sb_layer *base, const pool_layer *l, const sb_ctx *c) {
  return sb_act_rows(&base->out, c->T, c->B) * l->C;
}

/* ---------------------------------------------------------------- avgpool2d */

static void avg_forward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float inv = 1.0f / (float)(l->k * l->k);  /* count_include_pad: always k*k in floor mode */
  const float *X = base->in[0]->x;
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    const float *x = X + q * in_plane;
    float *y = Y + q * out_plane;
    for (int oy = 0; oy < l->OH; oy++) {
      const int y0 = oy * l->s - l->p;
      const int ya = y0 < 0 ? 0 : y0, yb = y0 + l->k > l->H ? l->H : y0 + l->k;
      for (int ox = 0; ox < l->OW; ox++) {
        const int x0 = ox * l->s - l->p;
        const int xa = x0 < 0 ? 0 : x0, xb = x0 + l->k > l->W ? l->W : x0 + l->k;
        float sum = 0.0f;
        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++) sum += x[iy * l->W + ix];
        y[oy * l->OW + ox] = sum * inv;
      }
    }
  }
}

static void avg_backward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float inv = 1.0f / (float)(l->k * l->k);
  const float *dY = base->out.g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    float *dx = in->g + q * in_plane;
    const float *dy = dY + q * out_plane;
    if (!acc) memset(dx, 0, (size_t)in_plane * sizeof(float));
    for (int oy = 0; oy < l->OH; oy++) {
      const int y0 = oy * l->s - l->p;
      const int ya = y0 < 0 ? 0 : y0, yb = y0 + l->k > l->H ? l->H : y0 + l->k;
      for (int ox = 0; ox < l->OW; ox++) {
        const int x0 = ox * l->s - l->p;
        const int xa = x0 < 0 ? 0 : x0, xb = x0 + l->k > l->W ? l->W : x0 + l->k;
        const float g = dy[oy * l->OW + ox] * inv;
        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++) dx[iy * l->W + ix] += g;
      }
    }
  }
}

static sb_status avg_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  sb_status st = window_build(base, b, spec);
  base->out.is_binary = 0;
  return st;
}

const sb_layer_ops sb_avgpool2d_ops = {"avgpool2d", sizeof(pool_layer), avg_build, NULL,
                                       avg_forward, avg_backward, window_describe, NULL, NULL};

/* ---------------------------------------------------------------- maxpool2d */

static sb_status max_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  pool_layer *l = (pool_layer *)base;
  sb_status st;
  if ((st = window_build(base, b, spec))) return st;
  /* The max of spikes is a spike: padding never wins, it is ignored rather than zero. */
  base->out.is_binary = base->in[0]->is_binary;
  const sb_model_opts *o = sb_builder_opts(b);
  const long rows = (long)(base->out.is_static ? 1 : o->T) * o->B;
  sb_builder_bytes(b, (void **)&l->argmax,
                   (size_t)rows * l->C * l->OH * l->OW * sizeof(int32_t));
  if (l->k == 2 && l->s == 2 && l->p == 0 && l->OW < 8)
    sb_builder_bytes(b, (void **)&l->corner, (size_t)l->OH * l->OW * sizeof(int32_t));
  return SB_OK;
}

/* Whether v replaces the running maximum: strictly larger keeps the first maximum (as
 * PyTorch does), and a NaN wins so a diverging run is not hidden. Branch-free, because on
 * spike maps and noisy activations the comparison is unpredictable. */
static inline int takes_over(float v, float best) {
  return (v > best) | ((v != v) & (best == best));
}

typedef float v8sf __attribute__((vector_size(32), aligned(4)));
typedef int32_t v8si __attribute__((vector_size(32), aligned(4)));

/* Lane-wise: where take is all ones, a, else b (as bits, so floats pass through unchanged). */
static inline v8sf select_f(v8si take, v8sf a, v8sf b) {
  return (v8sf)((take & (v8si)a) | (~take & (v8si)b));
}
static inline v8si select_i(v8si take, v8si a, v8si b) { return (take & a) | (~take & b); }
static inline v8si takes_over_v(v8sf v, v8sf best) {
  return (v > best) | ((v != v) & (best == best));
}

/* Eight 2x2 windows whose top-left inputs are at x + i0[0..7]: the four candidates compared in
 * raster order (first maximum wins, NaN wins), written to y and am. */
static inline void max_2x2_lanes(v8sf a, v8sf b, v8sf c, v8sf d, v8si i0, int W, float *y,
                                 int32_t *am) {
  v8sf best = a;
  v8si arg = i0;
  v8si t = takes_over_v(b, best);
  best = select_f(t, b, best), arg = select_i(t, i0 + 1, arg);
  t = takes_over_v(c, best);
  best = select_f(t, c, best), arg = select_i(t, i0 + W, arg);
  t = takes_over_v(d, best);
  best = select_f(t, d, best), arg = select_i(t, i0 + W + 1, arg);
  *(v8sf *)y = best;
  *(v8si *)am = arg;
}

/* The common 2x2, stride 2, no padding window, eight outputs at a time. Rows of at least eight
 * outputs split their two input rows into even and odd columns; a row's last partial block is
 * recomputed as an overlapping block of eight (the same outputs, the same bits). Narrower maps
 * (a 14x14 -> 7x7 pool) take eight outputs of the flattened plane at once, their inputs
 * gathered through the layer's table of window corners. */
static void max_forward_2x2(const pool_layer *l, const float *x, float *y, int32_t *am) {
  const v8si even = {0, 2, 4, 6, 8, 10, 12, 14}, odd = even + 1;
  const int W = l->W;
  const long out_plane = (long)l->OH * l->OW;
  if (l->OW >= 8) {
    for (int oy = 0; oy < l->OH; oy++) {
      const float *r0 = x + (long)2 * oy * W, *r1 = r0 + W;
      for (int ox0 = 0; ox0 < l->OW; ox0 += 8) {
        const int ox = ox0 + 8 <= l->OW ? ox0 : l->OW - 8;
        const v8sf *p0 = (const v8sf *)(r0 + 2 * ox), *p1 = (const v8sf *)(r1 + 2 * ox);
        max_2x2_lanes(__builtin_shuffle(p0[0], p0[1], even), __builtin_shuffle(p0[0], p0[1], odd),
                      __builtin_shuffle(p1[0], p1[1], even), __builtin_shuffle(p1[0], p1[1], odd),
                      2 * oy * W + 2 * ox + even, W, y + oy * l->OW + ox, am + oy * l->OW + ox);
      }
    }
    return;
  }
  long o0 = 0;
  for (; out_plane >= 8 && o0 < out_plane; o0 += 8) {
    const long o = o0 + 8 <= out_plane ? o0 : out_plane - 8;
    const v8si i0 = *(const v8si *)(l->corner + o);
    v8sf a, b, c, d;
    for (int j = 0; j < 8; j++) {
      const float *w = x + i0[j];
      a[j] = w[0], b[j] = w[1], c[j] = w[W], d[j] = w[W + 1];
    }
    max_2x2_lanes(a, b, c, d, i0, W, y + o, am + o);
  }
  for (long o = out_plane >= 8 ? out_plane : 0; o < out_plane; o++) { /* fewer than 8 in all */
    const int i = l->corner[o];
    const float cand[4] = {x[i], x[i + 1], x[i + W], x[i + W + 1]};
    const int where[4] = {i, i + 1, i + W, i + W + 1};
    float best = cand[0];
    int arg = where[0];
    for (int k = 1; k < 4; k++)
      if (takes_over(cand[k], best)) best = cand[k], arg = where[k];
    y[o] = best;
    am[o] = arg;
  }
}

static void max_forward(sb_layer *base, const sb_ctx *c) {
  pool_layer *l = (pool_layer *)base;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float *X = base->in[0]->x;
  float *Y = base->out.x;
  const int fast = l->k == 2 && l->s == 2 && l->p == 0;
  if (l->corner) /* a function of the shape only, and only OH*OW entries: refilled every call */
    for (int oy = 0; oy < l->OH; oy++)
      for (int ox = 0; ox < l->OW; ox++) l->corner[oy * l->OW + ox] = 2 * oy * l->W + 2 * ox;
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    const float *x = X + q * in_plane;
    float *y = Y + q * out_plane;
    int32_t *am = l->argmax + q * out_plane;
    if (fast) {
      max_forward_2x2(l, x, y, am);
      continue;
    }
    for (int oy = 0; oy < l->OH; oy++) {
      const int y0 = oy * l->s - l->p;
      const int ya = y0 < 0 ? 0 : y0, yb = y0 + l->k > l->H ? l->H : y0 + l->k;
      for (int ox = 0; ox < l->OW; ox++) {
        const int x0 = ox * l->s - l->p;
        const int xa = x0 < 0 ? 0 : x0, xb = x0 + l->k > l->W ? l->W : x0 + l->k;
        int best = ya * l->W + xa;
        float vbest = x[best];
        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++) {
            const float v = x[iy * l->W + ix];
            const int t = takes_over(v, vbest);
            vbest = t ? v : vbest;
            best = t ? iy * l->W + ix : best;
          }
        y[oy * l->OW + ox] = vbest;
        am[oy * l->OW + ox] = best;
      }
    }
  }
}

static void max_backward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float *dY = base->out.g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    float *dx = in->g + q * in_plane;
    const float *dy = dY + q * out_plane;
    const int32_t *am = l->argmax + q * out_plane;
    if (!acc) memset(dx, 0, (size_t)in_plane * sizeof(float));
    for (long o = 0; o < out_plane; o++) dx[am[o]] += dy[o];
  }
}

const sb_layer_ops sb_maxpool2d_ops = {"maxpool2d", sizeof(pool_layer), max_build, NULL,
                                       max_forward, max_backward, window_describe, NULL, NULL};

/* ---------------------------------------------------------------- adaptive_avgpool2d */

/* PyTorch's adaptive windows: output i covers [floor(i*n/o), ceil((i+1)*n/o)). */
static inline int win_start(int i, int n, int o) { return (int)((long)i * n / o); }
static inline int win_end(int i, int n, int o) { return (int)(((long)(i + 1) * n + o - 1) / o); }

static const char *const adaptive_keys[] = {"out", NULL};

static sb_status adaptive_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  pool_layer *l = (pool_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, adaptive_keys))) return st;
  if ((st = need_map(b, base, l))) return st;
  const cJSON *out = cJSON_GetObjectItemCaseSensitive(spec, "out");
  if (cJSON_IsArray(out)) {
    const cJSON *h = cJSON_GetArrayItem(out, 0), *w = cJSON_GetArrayItem(out, 1);
    if (cJSON_GetArraySize(out) != 2 || !cJSON_IsNumber(h) || !cJSON_IsNumber(w))
      return sb_builder_error(b, base, "\"out\" must be an integer or a list [height, width]");
    l->OH = h->valueint;
    l->OW = w->valueint;
    if (h->valuedouble != l->OH || w->valuedouble != l->OW || l->OH < 1 || l->OW < 1)
      return sb_builder_error(b, base, "\"out\" sizes must be positive integers");
  } else {
    if ((st = sb_spec_int(b, base, spec, "out", 1, 1, 1 << 16, &l->OH))) return st;
    l->OW = l->OH;
  }
  base->out.shape = (sb_shape){3, {l->C, l->OH, l->OW}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  return SB_OK;
}

static void adaptive_forward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float *X = base->in[0]->x;
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    const float *x = X + q * in_plane;
    float *y = Y + q * out_plane;
    for (int oy = 0; oy < l->OH; oy++) {
      const int ya = win_start(oy, l->H, l->OH), yb = win_end(oy, l->H, l->OH);
      for (int ox = 0; ox < l->OW; ox++) {
        const int xa = win_start(ox, l->W, l->OW), xb = win_end(ox, l->W, l->OW);
        float sum = 0.0f;
        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++) sum += x[iy * l->W + ix];
        y[oy * l->OW + ox] = sum / (float)((yb - ya) * (xb - xa));
      }
    }
  }
}

static void adaptive_backward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long np = planes(base, l, c), in_plane = (long)l->H * l->W, out_plane = (long)l->OH * l->OW;
  const float *dY = base->out.g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (np * in_plane > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    float *dx = in->g + q * in_plane;
    const float *dy = dY + q * out_plane;
    if (!acc) memset(dx, 0, (size_t)in_plane * sizeof(float));
    for (int oy = 0; oy < l->OH; oy++) {
      const int ya = win_start(oy, l->H, l->OH), yb = win_end(oy, l->H, l->OH);
      for (int ox = 0; ox < l->OW; ox++) {
        const int xa = win_start(ox, l->W, l->OW), xb = win_end(ox, l->W, l->OW);
        const float g = dy[oy * l->OW + ox] / (float)((yb - ya) * (xb - xa));
        for (int iy = ya; iy < yb; iy++)
          for (int ix = xa; ix < xb; ix++) dx[iy * l->W + ix] += g;
      }
    }
  }
}

static void adaptive_describe(const sb_layer *base, char *buf, size_t n) {
  const pool_layer *l = (const pool_layer *)base;
  if (l->OH == 1 && l->OW == 1)
    snprintf(buf, n, "global average");
  else
    snprintf(buf, n, "to %dx%d", l->OH, l->OW);
}

const sb_layer_ops sb_adaptive_avgpool2d_ops = {"adaptive_avgpool2d", sizeof(pool_layer),
                                                adaptive_build, NULL, adaptive_forward,
                                                adaptive_backward, adaptive_describe, NULL, NULL};

/* ---------------------------------------------------------------- sum_pool */

/* The output keeps the map's rank, [C,1,1], so `mul` can broadcast it back over [C,H,W]
 * (Q ⊙ SN(Σ_N K ⊙ V)); `flatten` turns it into [C]. */
static const char *const no_keys[] = {NULL};

static sb_status sum_pool_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  pool_layer *l = (pool_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, no_keys))) return st;
  if ((st = need_map(b, base, l))) return st;
  l->OH = l->OW = 1;
  base->out.shape = (sb_shape){3, {l->C, 1, 1}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  return SB_OK;
}

static void sum_pool_forward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  const long np = planes(base, l, c), S = (long)l->H * l->W;
  const float *X = base->in[0]->x;
  float *Y = base->out.x;
#pragma omp parallel for schedule(static) if (np * S > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    const float *x = X + q * S;
    float sum = 0.0f;
    for (long i = 0; i < S; i++) sum += x[i];
    Y[q] = sum;
  }
}

static void sum_pool_backward(sb_layer *base, const sb_ctx *c) {
  const pool_layer *l = (const pool_layer *)base;
  sb_act *in = base->in[0];
  if (!in->needs_grad) return;
  const long np = planes(base, l, c), S = (long)l->H * l->W;
  const float *dY = base->out.g;
  const int acc = base->in_accumulate[0];
#pragma omp parallel for schedule(static) if (np * S > POOL_PARALLEL_MIN)
  for (long q = 0; q < np; q++) {
    float *dx = in->g + q * S;
    const float g = dY[q];
    if (acc)
      for (long i = 0; i < S; i++) dx[i] += g;
    else
      for (long i = 0; i < S; i++) dx[i] = g;
  }
}

static void sum_pool_describe(const sb_layer *base, char *buf, size_t n) {
  const pool_layer *l = (const pool_layer *)base;
  snprintf(buf, n, "sum over %dx%d positions -> Cx1x1", l->H, l->W);
}

const sb_layer_ops sb_sum_pool_ops = {"sum_pool", sizeof(pool_layer), sum_pool_build, NULL,
                                      sum_pool_forward, sum_pool_backward, sum_pool_describe, NULL, NULL};
