/* Conv2d over every (t, b) sample at once (T folded into the batch), PyTorch semantics
 * (weight [Cout][Cin/groups][kh][kw], zero padding, stride, groups, optional bias).
 *
 * Three ways to compute, chosen per call from the data:
 *  - dense: im2col + one sgemm per sample and group;
 *  - sparse input (spike trains, pooled spikes: most inputs zero): every nonzero input adds
 *    its value times a weight column to the outputs it reaches, accumulated channel-last so the
 *    inner loop runs over output channels;
 *  - sparse output gradient (a max-pool downstream passes gradient to one position in k·k):
 *    every nonzero dY adds to dW and dX only where it reaches.
 * Each sample is independent in forward and dX; the weight gradient sums over samples in fixed
 * pieces (boundaries depend only on the sample count) reduced in a fixed order, so results do
 * not depend on the thread count. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

#include "nn/layers.h"

/* Above this fraction of nonzeros the dense GEMM path is faster. */
#define SPARSE_MAX_DENSITY 0.5
enum { WGRAD_PIECES = 8 };

typedef struct {
  sb_layer base;
  int cin, h, w, cout, oh, ow;
  int kh, kw, stride, pad, groups, bias;
  int cg, og;          /* input and output channels per group */
  long K;              /* cg * kh * kw: one im2col column */
  float *W, *dW, *b, *db;
  int n_workspaces;    /* one per thread */
  float *workspace;    /* n_workspaces * ws_floats */
  long ws_floats;
  float *partial_dw;   /* WGRAD_PIECES * |W| */
  float *partial_db;   /* WGRAD_PIECES * cout */
  float *wt;           /* weight in channel-last layouts for the sparse paths */
  int allow_sparse;    /* spec "sparse": false forces the dense path (benchmarks, tests) */
  int used_sparse_x;   /* forward input was sparse (also read in backward) */
} conv_layer;

static const char *const conv_keys[] = {"out",  "kernel", "stride", "padding",
                                        "groups", "bias", "sparse", NULL};

static long weight_count(const conv_layer *l) { return (long)l->cout * l->K; }

static sb_status conv_build(sb_layer *base, sb_builder *b, const cJSON *spec) {
  conv_layer *l = (conv_layer *)base;
  sb_status st;
  if ((st = sb_spec_check_keys(b, base, spec, conv_keys))) return st;
  if (base->n_in != 1) return sb_builder_error(b, base, "takes exactly one input");
  const sb_shape in = base->in[0]->shape;
  if (in.ndim != 3)
    return sb_builder_error(b, base, "needs a [C,H,W] input, got %d dimension(s)", in.ndim);
  l->cin = in.d[0];
  l->h = in.d[1];
  l->w = in.d[2];
  if ((st = sb_spec_int(b, base, spec, "out", 0, 1, 1 << 16, &l->cout))) return st;
  if (!l->cout) return sb_builder_error(b, base, "\"out\" (output channels) is required");
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(spec, "kernel");
  if (cJSON_IsArray(k) && cJSON_GetArraySize(k) == 2 &&
      cJSON_IsNumber(cJSON_GetArrayItem(k, 0)) && cJSON_IsNumber(cJSON_GetArrayItem(k, 1))) {
    l->kh = cJSON_GetArrayItem(k, 0)->valueint;
    l->kw = cJSON_GetArrayItem(k, 1)->valueint;
  } else if (cJSON_IsNumber(k)) {
    l->kh = l->kw = k->valueint;
  } else {
    return sb_builder_error(b, base, "\"kernel\" must be an integer or [kh, kw]");
  }
  if (l->kh < 1 || l->kw < 1 || l->kh > 64 || l->kw > 64)
    return sb_builder_error(b, base, "kernel %dx%d is not in 1..64", l->kh, l->kw);
  if ((st = sb_spec_int(b, base, spec, "stride", 1, 1, 64, &l->stride))) return st;
  if ((st = sb_spec_int(b, base, spec, "padding", 0, 0, 64, &l->pad))) return st;
  if ((st = sb_spec_int(b, base, spec, "groups", 1, 1, 1 << 16, &l->groups))) return st;
  if ((st = sb_spec_bool(b, base, spec, "bias", 1, &l->bias))) return st;
  if ((st = sb_spec_bool(b, base, spec, "sparse", 1, &l->allow_sparse))) return st;
  if (l->cin % l->groups || l->cout % l->groups)
    return sb_builder_error(b, base, "groups=%d must divide input channels %d and output "
                            "channels %d", l->groups, l->cin, l->cout);
  l->oh = (l->h + 2 * l->pad - l->kh) / l->stride + 1;
  l->ow = (l->w + 2 * l->pad - l->kw) / l->stride + 1;
  if (l->h + 2 * l->pad < l->kh || l->w + 2 * l->pad < l->kw)
    return sb_builder_error(b, base, "kernel %dx%d does not fit the padded %dx%d input", l->kh,
                            l->kw, l->h + 2 * l->pad, l->w + 2 * l->pad);
  l->cg = l->cin / l->groups;
  l->og = l->cout / l->groups;
  l->K = (long)l->cg * l->kh * l->kw;
  base->out.shape = (sb_shape){3, {l->cout, l->oh, l->ow}};
  base->out.is_static = base->in[0]->is_static;
  base->out.is_binary = 0;
  sb_builder_param(b, base, "weight", &l->W, &l->dW, weight_count(l));
  sb_builder_quantizable(b, l->cout, l->K, 1, l->K); /* W is [cout][cin/groups·kh·kw] */
  if (l->bias) sb_builder_param(b, base, "bias", &l->b, &l->db, l->cout);

  /* Per-thread scratch: an im2col block, or the channel-last input/output/gradient planes. */
  const long ohw = (long)l->oh * l->ow, hw = (long)l->h * l->w;
  long ws = l->K * ohw;
  const long hwc = ohw * l->cout + hw * l->cin + hw * l->cin;
  if (hwc > ws) ws = hwc;
  /* Sparse-input gather: per-pixel channel lists (indices, values, counts), one channel's
   * nonzero pixels, and one output row's tile of CO_BLOCK channels. */
  const long lists = 2 * hw * l->cin + 2 * hw + (long)l->ow * 64;
  if (lists > ws) ws = lists;
  /* Sparse-dY gather: channel-last x and dX, and the two lists of nonzero gradients. */
  const long khw_cout = (long)l->kh * l->kw * l->cout;
  const long dy_lists = 2 * hw * l->cin + 4 * ohw * l->cout + 3 * ohw + l->cout +
                        (long)l->h * l->kh + (long)l->w * l->kw +
                        2 * (ohw > khw_cout ? ohw : khw_cout);
  if (dy_lists > ws) ws = dy_lists;
  l->ws_floats = (ws + 15) / 16 * 16;
  l->n_workspaces = omp_get_max_threads();
  sb_builder_floats(b, &l->workspace, l->ws_floats * l->n_workspaces);
  sb_builder_floats(b, &l->partial_dw, WGRAD_PIECES * weight_count(l));
  sb_builder_floats(b, &l->partial_db, WGRAD_PIECES * (long)l->cout);
  sb_builder_floats(b, &l->wt, weight_count(l));
  return SB_OK;
}

static void conv_init(sb_layer *base, uint64_t seed) {
  conv_layer *l = (conv_layer *)base;
  const float bound = 1.0f / sqrtf((float)l->K);
  sb_init_uniform(l->W, weight_count(l), bound, seed, (uint32_t)base->index, 0);
  if (l->bias) sb_init_uniform(l->b, l->cout, bound, seed, (uint32_t)base->index, 1);
}

static float *workspace(const conv_layer *l) {
  return l->workspace + (long)omp_get_thread_num() * l->ws_floats;
}


/* ---------------------------------------------------------------- dense helpers */

/* col[(c*kh + ky)*kw + kx][oy*ow + ox] = x[c][oy*s - p + ky][ox*s - p + kx] (0 outside). */
static void im2col(const conv_layer *l, const float *x, float *col) {
  const int s = l->stride, p = l->pad;
  for (int c = 0; c < l->cg; c++)
    for (int ky = 0; ky < l->kh; ky++)
      for (int kx = 0; kx < l->kw; kx++) {
        float *dst = col + ((long)(c * l->kh + ky) * l->kw + kx) * l->oh * l->ow;
        const float *src = x + (long)c * l->h * l->w;
        for (int oy = 0; oy < l->oh; oy++) {
          const int iy = oy * s - p + ky;
          float *row = dst + (long)oy * l->ow;
          if (iy < 0 || iy >= l->h) {
            memset(row, 0, (size_t)l->ow * sizeof(float));
            continue;
          }
          const float *srow = src + (long)iy * l->w;
          for (int ox = 0; ox < l->ow; ox++) {
            const int ix = ox * s - p + kx;
            row[ox] = ix >= 0 && ix < l->w ? srow[ix] : 0.0f;
          }
        }
      }
}

/* The adjoint of im2col: dx += scatter(col). */
static void col2im_add(const conv_layer *l, const float *col, float *dx) {
  const int s = l->stride, p = l->pad;
  for (int c = 0; c < l->cg; c++)
    for (int ky = 0; ky < l->kh; ky++)
      for (int kx = 0; kx < l->kw; kx++) {
        const float *src = col + ((long)(c * l->kh + ky) * l->kw + kx) * l->oh * l->ow;
        float *dst = dx + (long)c * l->h * l->w;
        for (int oy = 0; oy < l->oh; oy++) {
          const int iy = oy * s - p + ky;
          if (iy < 0 || iy >= l->h) continue;
          const float *row = src + (long)oy * l->ow;
          float *drow = dst + (long)iy * l->w;
          for (int ox = 0; ox < l->ow; ox++) {
            const int ix = ox * s - p + kx;
            if (ix >= 0 && ix < l->w) drow[ix] += row[ox];
          }
        }
      }
}

/* 1x1, stride 1, no padding: the input plane already is the im2col block. */
static int is_pointwise(const conv_layer *l) {
  return l->kh == 1 && l->kw == 1 && l->stride == 1 && l->pad == 0;
}

static void forward_dense_sample(const conv_layer *l, const float *x, float *y) {
  const long ohw = (long)l->oh * l->ow, hw = (long)l->h * l->w;
  for (int g = 0; g < l->groups; g++) {
    const float *xg = x + (long)g * l->cg * hw;
    const float *col = xg;
    if (!is_pointwise(l)) {
      float *ws = workspace(l);
      im2col(l, xg, ws);
      col = ws;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l->og, (int)ohw, (int)l->K, 1.0f,
                l->W + (long)g * l->og * l->K, (int)l->K, col, (int)ohw, 0.0f,
                y + (long)g * l->og * ohw, (int)ohw);
  }
}

/* ---------------------------------------------------------------- sparse input forward */

/* wt[c][ky][kx][co'] for co' within c's group: the weights one input pixel feeds. */
static void transpose_weights_by_input(const conv_layer *l, float *wt) {
  for (int g = 0; g < l->groups; g++)
    for (int co = 0; co < l->og; co++)
      for (int c = 0; c < l->cg; c++)
        for (int k = 0; k < l->kh * l->kw; k++)
          wt[(((long)(g * l->cg + c)) * l->kh * l->kw + k) * l->og + co] =
              l->W[((long)(g * l->og + co) * l->cg + c) * l->kh * l->kw + k];
}

typedef float v8sf __attribute__((vector_size(32), aligned(4)));
enum { CO_BLOCK = 64 }; /* output channels kept in eight vector registers */

/* Sparse input, one group: for every input pixel, the list of its nonzero channels (ascending),
 * then every output pixel sums, over its taps, the weight rows wt[c][ky][kx][·] of those
 * channels, 64 output channels at a time in registers. */
static void forward_sparse_gather(const conv_layer *l, const float *x, float *y) {
  const long hw = (long)l->h * l->w, ohw = (long)l->oh * l->ow;
  const int cin = l->cin, cout = l->cout, khw = l->kh * l->kw;
  float *ws = workspace(l);
  int32_t *ch = (int32_t *)ws;            /* [hw][cin] */
  float *val = ws + hw * cin;             /* [hw][cin] */
  int32_t *cnt = (int32_t *)(ws + 2 * hw * cin); /* [hw] */
  int32_t *nz = cnt + hw;                 /* [hw]: one channel's nonzero pixels */
  float *tile = (float *)(nz + hw);       /* [ow][CO_BLOCK]: one output row, channel-last */
  memset(cnt, 0, (size_t)hw * sizeof(int32_t));
  for (int c = 0; c < cin; c++) { /* cost follows the nonzeros, not the plane size */
    const float *plane = x + c * hw;
    const long n = sb_nonzero_indices(plane, hw, nz);
    for (long j = 0; j < n; j++) {
      const long p = nz[j];
      const int k = cnt[p]++;
      ch[p * cin + k] = c;
      val[p * cin + k] = plane[p];
    }
  }
  const int full = cout / CO_BLOCK * CO_BLOCK;
  for (int oy = 0; oy < l->oh; oy++) {
    for (int co0 = 0; co0 < full; co0 += CO_BLOCK) {
      /* Kernel rows outermost: the weights one kernel row needs (kw taps of every input channel,
       * 24 KiB for 3x3 over 32 channels) stay in L1 while the output row's tile, also in L1,
       * gathers that row's contribution; all kh rows at once would be 74 KiB. */
      for (int ky = 0; ky < l->kh; ky++) {
        const int iy = oy * l->stride - l->pad + ky;
        const int first = ky == 0;
        if (iy < 0 || iy >= l->h) {
          if (first) memset(tile, 0, (size_t)l->ow * CO_BLOCK * sizeof(float));
          continue;
        }
        for (int ox = 0; ox < l->ow; ox++) {
          v8sf *t = (v8sf *)(tile + (long)ox * CO_BLOCK);
          v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
          if (!first)
            a0 = t[0], a1 = t[1], a2 = t[2], a3 = t[3], a4 = t[4], a5 = t[5], a6 = t[6], a7 = t[7];
          for (int kx = 0; kx < l->kw; kx++) {
            const int ix = ox * l->stride - l->pad + kx;
            if (ix < 0 || ix >= l->w) continue;
            const long p = (long)iy * l->w + ix;
            const int n = cnt[p], tap = ky * l->kw + kx;
            const int32_t *cp = ch + p * cin;
            const float *vp = val + p * cin;
            for (int j = 0; j < n; j++) {
              const v8sf *w = (const v8sf *)(l->wt + ((long)cp[j] * khw + tap) * cout + co0);
              const float v = vp[j];
              a0 += v * w[0], a1 += v * w[1], a2 += v * w[2], a3 += v * w[3];
              a4 += v * w[4], a5 += v * w[5], a6 += v * w[6], a7 += v * w[7];
            }
          }
          t[0] = a0, t[1] = a1, t[2] = a2, t[3] = a3, t[4] = a4, t[5] = a5, t[6] = a6, t[7] = a7;
        }
      }
      /* The output is channel-major: the row's tile goes out one channel (ow floats) at a time
       * rather than as 64 stores a plane apart per pixel. */
      for (int k = 0; k < CO_BLOCK; k++) {
        float *dst = y + (long)(co0 + k) * ohw + (long)oy * l->ow;
        for (int ox = 0; ox < l->ow; ox++) dst[ox] = tile[(long)ox * CO_BLOCK + k];
      }
    }
    for (int ox = 0; ox < l->ow && full < cout; ox++) {
      const long op = (long)oy * l->ow + ox;
      {
        float tail[CO_BLOCK] = {0};
        const int nco = cout - full;
        for (int ky = 0; ky < l->kh; ky++) {
          const int iy = oy * l->stride - l->pad + ky;
          if (iy < 0 || iy >= l->h) continue;
          for (int kx = 0; kx < l->kw; kx++) {
            const int ix = ox * l->stride - l->pad + kx;
            if (ix < 0 || ix >= l->w) continue;
            const long p = (long)iy * l->w + ix;
            const int tap = ky * l->kw + kx;
            for (int j = 0; j < cnt[p]; j++) {
              const float *w = l->wt + ((long)ch[p * cin + j] * khw + tap) * cout + full;
              for (int k = 0; k < nco; k++) tail[k] += val[p * cin + j] * w[k];
            }
          }
        }
        for (int k = 0; k < nco; k++) y[(full + k) * ohw + op] = tail[k];
      }
    }
  }
}

/* Grouped convolutions with a sparse input scatter instead: output in channel-last scratch
 * yt[oy][ox][cout], then transposed into y[cout][oy][ox]. */
static void forward_sparse_sample(const conv_layer *l, const float *x, float *y) {
  const long ohw = (long)l->oh * l->ow;
  float *yt = workspace(l);
  memset(yt, 0, (size_t)(ohw * l->cout) * sizeof(float));
  const int s = l->stride, p = l->pad, og = l->og, khw = l->kh * l->kw;
  for (int c = 0; c < l->cin; c++) {
    const int g = c / l->cg;
    const float *plane = x + (long)c * l->h * l->w;
    const float *wc = l->wt + (long)c * khw * og;
    for (int iy = 0; iy < l->h; iy++)
      for (int ix = 0; ix < l->w; ix++) {
        const float v = plane[iy * l->w + ix];
        if (v == 0.0f) continue;
        for (int ky = 0; ky < l->kh; ky++) {
          const int ty = iy + p - ky;
          if (ty < 0 || ty % s) continue;
          const int oy = ty / s;
          if (oy >= l->oh) continue;
          for (int kx = 0; kx < l->kw; kx++) {
            const int tx = ix + p - kx;
            if (tx < 0 || tx % s) continue;
            const int ox = tx / s;
            if (ox >= l->ow) continue;
            float *dst = yt + ((long)oy * l->ow + ox) * l->cout + (long)g * og;
            const float *wk = wc + (long)(ky * l->kw + kx) * og;
            if (v == 1.0f)
              for (int co = 0; co < og; co++) dst[co] += wk[co];
            else
              for (int co = 0; co < og; co++) dst[co] += v * wk[co];
          }
        }
      }
  }
  for (int co = 0; co < l->cout; co++)
    for (long i = 0; i < ohw; i++) y[(long)co * ohw + i] = yt[i * l->cout + co];
}

static void conv_forward(sb_layer *base, const sb_ctx *c) {
  conv_layer *l = (conv_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const long in_n = (long)l->cin * l->h * l->w, out_n = (long)l->cout * l->oh * l->ow;
  l->used_sparse_x = l->allow_sparse && sb_density(in->x, rows * in_n) <= SPARSE_MAX_DENSITY;
  if (l->used_sparse_x) transpose_weights_by_input(l, l->wt);
  const long ohw = (long)l->oh * l->ow;
#pragma omp parallel for schedule(dynamic, 1) num_threads(l->n_workspaces)
  for (long r = 0; r < rows; r++) {
    const float *x = in->x + r * in_n;
    float *y = base->out.x + r * out_n;
    if (l->used_sparse_x && l->groups == 1)
      forward_sparse_gather(l, x, y);
    else if (l->used_sparse_x)
      forward_sparse_sample(l, x, y);
    else
      forward_dense_sample(l, x, y);
    if (l->bias)
      for (int co = 0; co < l->cout; co++)
        for (long i = 0; i < ohw; i++) y[co * ohw + i] += l->b[co];
  }
}

/* ---------------------------------------------------------------- backward */

/* Sparse dY: every nonzero gradient (co, oy, ox) adds g·patch to dW[co] and g·W[co] to the
 * input patch. Channel-last copies make both inner loops contiguous over input channels:
 * xt[iy][ix][c] (input), dxt[iy][ix][c] (input gradient), dwt[co][ky][kx][c] (partial dW),
 * wt[co][ky][kx][c] (weights). */
static void backward_sparse_dy_sample(const conv_layer *l, const float *x, const float *dy,
                                      float *dwt, float *dx, int need_dx) {
  const long hw = (long)l->h * l->w, ohw = (long)l->oh * l->ow;
  float *ws = workspace(l);
  float *xt = ws, *dxt = ws + hw * l->cin;
  for (int ci = 0; ci < l->cin; ci++)
    for (long i = 0; i < hw; i++) xt[i * l->cin + ci] = x[ci * hw + i];
  if (need_dx) memset(dxt, 0, (size_t)(hw * l->cin) * sizeof(float));
  const int s = l->stride, p = l->pad, cg = l->cg;
  for (int co = 0; co < l->cout; co++) {
    const int g = co / l->og;
    const float *dyc = dy + co * ohw;
    float *dwc = dwt + (long)co * l->kh * l->kw * cg;
    const float *wc = l->wt + (long)co * l->kh * l->kw * cg;
    for (int oy = 0; oy < l->oh; oy++)
      for (int ox = 0; ox < l->ow; ox++) {
        const float gv = dyc[oy * l->ow + ox];
        if (gv == 0.0f) continue;
        for (int ky = 0; ky < l->kh; ky++) {
          const int iy = oy * s - p + ky;
          if (iy < 0 || iy >= l->h) continue;
          for (int kx = 0; kx < l->kw; kx++) {
            const int ix = ox * s - p + kx;
            if (ix < 0 || ix >= l->w) continue;
            const long pix = ((long)iy * l->w + ix) * l->cin + (long)g * cg;
            float *dwk = dwc + (long)(ky * l->kw + kx) * cg;
            const float *xk = xt + pix;
            for (int ci = 0; ci < cg; ci++) dwk[ci] += gv * xk[ci];
            if (need_dx) {
              const float *wk = wc + (long)(ky * l->kw + kx) * cg;
              float *dxk = dxt + pix;
              for (int ci = 0; ci < cg; ci++) dxk[ci] += gv * wk[ci];
            }
          }
        }
      }
  }
  if (need_dx)
    for (int ci = 0; ci < l->cin; ci++)
      for (long i = 0; i < hw; i++) dx[ci * hw + i] += dxt[i * l->cin + ci];
}

/* dst[0..32) (+)= Σ_j g[j] · base[row[j] .. row[j] + 32): two sets of accumulators over even
 * and odd entries, so consecutive rows' loads and FMAs overlap instead of waiting on one
 * chain (the rows are scattered, and each load comes from L2). */
static void gather_rows_32(const float *base, const int32_t *row, const float *g, int m,
                           float *dst, int accumulate) {
  v8sf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0};
  int j = 0;
  for (; j + 1 < m; j += 2) {
    const v8sf *r = (const v8sf *)(base + row[j]), *q = (const v8sf *)(base + row[j + 1]);
    const float u = g[j], v = g[j + 1];
    a0 += u * r[0], a1 += u * r[1], a2 += u * r[2], a3 += u * r[3];
    b0 += v * q[0], b1 += v * q[1], b2 += v * q[2], b3 += v * q[3];
  }
  if (j < m) {
    const v8sf *r = (const v8sf *)(base + row[j]);
    const float u = g[j];
    a0 += u * r[0], a1 += u * r[1], a2 += u * r[2], a3 += u * r[3];
  }
  v8sf *d = (v8sf *)dst;
  if (accumulate) {
    d[0] += a0 + b0, d[1] += a1 + b1, d[2] += a2 + b2, d[3] += a3 + b3;
  } else {
    d[0] = a0 + b0, d[1] = a1 + b1, d[2] = a2 + b2, d[3] = a3 + b3;
  }
}

/* Sparse dY, one group (the usual case: a max-pool downstream leaves one gradient in k·k, two
 * pools one in 16). Instead of scattering every nonzero gradient into dW and dX (read-modify-
 * write of 2·k·k channel rows each, bound by stores), both are gathered with their sums in
 * registers:
 *   dW[co][tap][·] = Σ over co's nonzero outputs o of  dY[co][o] · x[pixel(o, tap)][·]
 *   dX[pixel][·]   = Σ over taps, over the nonzero channels co at the output the tap reaches,
 *                    of dY[co][o] · W[co][tap][·]
 * from two lists built in one branch-free pass over dY: each output's nonzero channels, and
 * each channel's nonzero outputs. Channels run in blocks of 32 (four vectors), then one by one.
 * The bias gradient is the sum of each channel's nonzero gradients in output order. */
static void backward_sparse_dy_gather(const conv_layer *l, const float *x, const float *dy,
                                      float *dwt, float *pdb, float *dx, int need_dx) {
  const long hw = (long)l->h * l->w, ohw = (long)l->oh * l->ow;
  const int cin = l->cin, cout = l->cout, khw = l->kh * l->kw, s = l->stride, p = l->pad;
  float *ws = workspace(l);
  float *xt = ws, *dxt = xt + hw * cin;
  int32_t *op_co = (int32_t *)(dxt + hw * cin); /* [ohw][cout] */
  float *op_g = (float *)(op_co + ohw * cout);  /* [ohw][cout] */
  int32_t *co_op = (int32_t *)(op_g + ohw * cout); /* [cout][ohw] */
  float *co_g = (float *)(co_op + ohw * cout);     /* [cout][ohw] */
  int32_t *op_n = (int32_t *)(co_g + ohw * cout);  /* [ohw] */
  int32_t *co_n = op_n + ohw;                      /* [cout] */
  /* Where each output's window starts in the input, and which output row (column) an input row
   * (column) reaches through tap ky (kx), or -1: tables instead of divisions in the loops. */
  int32_t *iy0 = co_n + cout, *ix0 = iy0 + ohw;    /* [ohw] each */
  int32_t *oy_of = ix0 + ohw, *ox_of = oy_of + (long)l->h * l->kh; /* [h][kh], [w][kw] */
  /* One gather's rows: up to ohw (dW) or kh·kw·cout (dX) entries. */
  const long hits = ohw > (long)khw * cout ? ohw : (long)khw * cout;
  int32_t *hit_row = ox_of + (long)l->w * l->kw;
  float *hit_g = (float *)(hit_row + hits);
  for (long o = 0; o < ohw; o++) {
    iy0[o] = (int32_t)(o / l->ow) * s - p;
    ix0[o] = (int32_t)(o % l->ow) * s - p;
  }
  for (int iy = 0; iy < l->h; iy++)
    for (int ky = 0; ky < l->kh; ky++) {
      const int ty = iy + p - ky;
      oy_of[iy * l->kh + ky] = ty >= 0 && ty % s == 0 && ty / s < l->oh ? ty / s : -1;
    }
  for (int ix = 0; ix < l->w; ix++)
    for (int kx = 0; kx < l->kw; kx++) {
      const int tx = ix + p - kx;
      ox_of[ix * l->kw + kx] = tx >= 0 && tx % s == 0 && tx / s < l->ow ? tx / s : -1;
    }
  memset(op_n, 0, (size_t)ohw * sizeof(int32_t));
  for (int co = 0; co < cout; co++) {
    const float *d = dy + co * ohw;
    int32_t *cl = co_op + (long)co * ohw;
    float *cg = co_g + (long)co * ohw;
    const int n = (int)sb_nonzero_indices(d, ohw, cl);
    float bias = 0.0f;
    for (int j = 0; j < n; j++) bias += cg[j] = d[cl[j]];
    co_n[co] = n;
    pdb[co] += bias;
    for (int j = 0; j < n; j++) { /* the same entries by output, channels ascending */
      const long slot = (long)cl[j] * cout + op_n[cl[j]]++;
      op_co[slot] = co, op_g[slot] = cg[j];
    }
  }
  for (int ci = 0; ci < cin; ci++)
    for (long i = 0; i < hw; i++) xt[i * cin + ci] = x[ci * hw + i];
  const int full = cin / 32 * 32;

  /* dW: one (channel, tap) row at a time, over the channel's nonzero outputs. */
  for (int co = 0; co < cout; co++) {
    const int32_t *cl = co_op + (long)co * ohw;
    const float *cg = co_g + (long)co * ohw;
    for (int ky = 0; ky < l->kh; ky++)
      for (int kx = 0; kx < l->kw; kx++) {
        float *dst = dwt + ((long)co * khw + ky * l->kw + kx) * cin;
        /* The entries whose tap lands inside the input, as (row offset, gradient). */
        int m = 0;
        for (int j = 0; j < co_n[co]; j++) {
          const int iy = iy0[cl[j]] + ky, ix = ix0[cl[j]] + kx;
          const int inside = iy >= 0 && iy < l->h && ix >= 0 && ix < l->w;
          hit_row[m] = ((int32_t)iy * l->w + ix) * cin, hit_g[m] = cg[j], m += inside;
        }
        for (int c0 = 0; c0 < full; c0 += 32)
          gather_rows_32(xt + c0, hit_row, hit_g, m, dst + c0, 1);
        for (int c = full; c < cin; c++) {
          float a = 0.0f;
          for (int j = 0; j < m; j++) a += hit_g[j] * xt[hit_row[j] + c];
          dst[c] += a;
        }
      }
  }
  if (!need_dx) return;

  /* dX: one kernel row at a time (its weights, kw taps of every output channel, stay in L1),
   * then one input pixel at a time, over the outputs its taps reach and their nonzero channels.
   * The weights are wt[co][tap][c] (transpose_weights_by_output). */
  memset(dxt, 0, (size_t)(hw * cin) * sizeof(float));
  for (int ky = 0; ky < l->kh; ky++)
    for (int iy = 0; iy < l->h; iy++) {
      const int oy = oy_of[iy * l->kh + ky];
      if (oy < 0) continue;
      for (int ix = 0; ix < l->w; ix++) {
        float *dst = dxt + ((long)iy * l->w + ix) * cin;
        /* Every (tap, nonzero channel) reaching this pixel, as (weight row offset, gradient). */
        int m = 0;
        for (int kx = 0; kx < l->kw; kx++) {
          const int ox = ox_of[ix * l->kw + kx];
          if (ox < 0) continue;
          const long o = (long)oy * l->ow + ox;
          const int tap = ky * l->kw + kx;
          for (int j = 0; j < op_n[o]; j++, m++) {
            hit_row[m] = (op_co[o * cout + j] * khw + tap) * cin;
            hit_g[m] = op_g[o * cout + j];
          }
        }
        if (m == 0) continue;
        for (int c0 = 0; c0 < full; c0 += 32)
          gather_rows_32(l->wt + c0, hit_row, hit_g, m, dst + c0, 1);
        for (int c = full; c < cin; c++) {
          float a = 0.0f;
          for (int j = 0; j < m; j++) a += hit_g[j] * l->wt[hit_row[j] + c];
          dst[c] += a;
        }
      }
    }
  for (int ci = 0; ci < cin; ci++)
    for (long i = 0; i < hw; i++) dx[ci * hw + i] += dxt[i * cin + ci];
}

/* wt[co][ky][kx][c]: the weights a gradient at output channel co spreads over its patch. */
static void transpose_weights_by_output(const conv_layer *l, float *wt) {
  const int khw = l->kh * l->kw;
  for (int co = 0; co < l->cout; co++)
    for (int c = 0; c < l->cg; c++)
      for (int k = 0; k < khw; k++)
        wt[((long)co * khw + k) * l->cg + c] = l->W[((long)co * l->cg + c) * khw + k];
}

/* Sparse input, dense dY: dW[co][c][ky][kx] gets v·dY[co][oy][ox] from every nonzero input
 * that reaches (oy, ox) through tap (ky, kx). dyt[oy][ox][co] is dY channel-last; the partial
 * is kept as dwt[c][ky][kx][co] so the inner loop runs over output channels. */
static void wgrad_sparse_x_sample(const conv_layer *l, const float *x, const float *dy,
                                  float *dwt) {
  const long ohw = (long)l->oh * l->ow;
  float *dyt = workspace(l);
  for (int co = 0; co < l->cout; co++)
    for (long i = 0; i < ohw; i++) dyt[i * l->cout + co] = dy[co * ohw + i];
  const int s = l->stride, p = l->pad, og = l->og, khw = l->kh * l->kw;
  for (int c = 0; c < l->cin; c++) {
    const int g = c / l->cg;
    const float *plane = x + (long)c * l->h * l->w;
    float *dwc = dwt + (long)c * khw * og;
    for (int iy = 0; iy < l->h; iy++)
      for (int ix = 0; ix < l->w; ix++) {
        const float v = plane[iy * l->w + ix];
        if (v == 0.0f) continue;
        for (int ky = 0; ky < l->kh; ky++) {
          const int ty = iy + p - ky;
          if (ty < 0 || ty % s) continue;
          const int oy = ty / s;
          if (oy >= l->oh) continue;
          for (int kx = 0; kx < l->kw; kx++) {
            const int tx = ix + p - kx;
            if (tx < 0 || tx % s) continue;
            const int ox = tx / s;
            if (ox >= l->ow) continue;
            const float *src = dyt + ((long)oy * l->ow + ox) * l->cout + (long)g * og;
            float *dst = dwc + (long)(ky * l->kw + kx) * og;
            for (int co = 0; co < og; co++) dst[co] += v * src[co];
          }
        }
      }
  }
}

typedef enum { WG_DENSE, WG_SPARSE_DY, WG_SPARSE_X } wgrad_path;

static void conv_backward(sb_layer *base, const sb_ctx *c) {
  conv_layer *l = (conv_layer *)base;
  sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const long in_n = (long)l->cin * l->h * l->w, ohw = (long)l->oh * l->ow;
  const long out_n = (long)l->cout * ohw, nw = weight_count(l);
  const int need_dx = in->needs_grad;
  const float *dY = base->out.g;
  const int sparse_dy = l->allow_sparse && sb_density(dY, rows * out_n) <= SPARSE_MAX_DENSITY;
  const wgrad_path path = sparse_dy ? WG_SPARSE_DY : l->used_sparse_x ? WG_SPARSE_X : WG_DENSE;
  if (path == WG_SPARSE_DY) transpose_weights_by_output(l, l->wt);
  if (need_dx && !base->in_accumulate[0])
    memset(in->g, 0, (size_t)(rows * in_n) * sizeof(float));

  /* Weight gradient pieces: each sums its samples in order into its own partial. */
  const int pieces = rows < WGRAD_PIECES ? (int)rows : WGRAD_PIECES;
#pragma omp parallel for schedule(dynamic, 1) num_threads(l->n_workspaces)
  for (int pc = 0; pc < pieces; pc++) {
    float *pdw = l->partial_dw + (long)pc * nw;
    float *pdb = l->partial_db + (long)pc * l->cout;
    memset(pdw, 0, (size_t)nw * sizeof(float));
    memset(pdb, 0, (size_t)l->cout * sizeof(float));
    const long lo = rows * pc / pieces, hi = rows * (pc + 1) / pieces;
    for (long r = lo; r < hi; r++) {
      const float *x = in->x + r * in_n;
      const float *dy = dY + r * out_n;
      float *dx = need_dx ? in->g + r * in_n : NULL;
      if (path == WG_SPARSE_DY && l->groups == 1) {
        backward_sparse_dy_gather(l, x, dy, pdw, pdb, dx, need_dx);
        continue;
      }
      for (int co = 0; co < l->cout; co++) pdb[co] += (float)sb_sum_serial(dy + co * ohw, ohw);
      if (path == WG_SPARSE_DY) {
        backward_sparse_dy_sample(l, x, dy, pdw, dx, need_dx);
        continue;
      }
      if (path == WG_SPARSE_X) wgrad_sparse_x_sample(l, x, dy, pdw);
      for (int g = 0; g < l->groups; g++) {
        const float *xg = x + (long)g * l->cg * l->h * l->w;
        const float *dyg = dy + (long)g * l->og * ohw;
        const float *col = xg;
        float *ws = workspace(l);
        if (path == WG_DENSE) {
          if (!is_pointwise(l)) {
            im2col(l, xg, ws);
            col = ws;
          }
          /* dW_g += dY_g (og x ohw) * col^T (ohw x K) */
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l->og, (int)l->K, (int)ohw, 1.0f,
                      dyg, (int)ohw, col, (int)ohw, 1.0f, pdw + (long)g * l->og * l->K,
                      (int)l->K);
        }
        if (need_dx) {
          float *dxg = dx + (long)g * l->cg * l->h * l->w;
          if (is_pointwise(l)) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->K, (int)ohw, l->og, 1.0f,
                        l->W + (long)g * l->og * l->K, (int)l->K, dyg, (int)ohw, 1.0f, dxg,
                        (int)ohw);
          } else {
            /* dcol = W_g^T (K x og) * dY_g (og x ohw), then scatter back. */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l->K, (int)ohw, l->og, 1.0f,
                        l->W + (long)g * l->og * l->K, (int)l->K, dyg, (int)ohw, 0.0f, ws,
                        (int)ohw);
            col2im_add(l, ws, dxg);
          }
        }
      }
    }
  }
  /* Reduce the partials in order, then bring channel-last partials back to [co][c][ky][kx]. */
  const int khw = l->kh * l->kw;
  float *acc = l->wt; /* free again: reuse as the reduction target */
  for (long i = 0; i < nw; i++) {
    float s = 0.0f;
    for (int pc = 0; pc < pieces; pc++) s += l->partial_dw[(long)pc * nw + i];
    acc[i] = s;
  }
  if (path == WG_SPARSE_DY) {
    for (int co = 0; co < l->cout; co++)
      for (int ci = 0; ci < l->cg; ci++)
        for (int k = 0; k < khw; k++)
          l->dW[((long)co * l->cg + ci) * khw + k] = acc[((long)co * khw + k) * l->cg + ci];
  } else if (path == WG_SPARSE_X) {
    for (int g = 0; g < l->groups; g++)
      for (int co = 0; co < l->og; co++)
        for (int ci = 0; ci < l->cg; ci++)
          for (int k = 0; k < khw; k++)
            l->dW[((long)(g * l->og + co) * l->cg + ci) * khw + k] =
                acc[(((long)(g * l->cg + ci)) * khw + k) * l->og + co];
  } else {
    memcpy(l->dW, acc, (size_t)nw * sizeof(float));
  }
  if (l->bias)
    for (int co = 0; co < l->cout; co++) {
      float s = 0.0f;
      for (int pc = 0; pc < pieces; pc++) s += l->partial_db[(long)pc * l->cout + co];
      l->db[co] = s;
    }
}

static void conv_describe(const sb_layer *base, char *buf, size_t n) {
  const conv_layer *l = (const conv_layer *)base;
  char groups[32] = "";
  if (l->groups > 1) snprintf(groups, sizeof groups, " groups %d", l->groups);
  snprintf(buf, n, "%d -> %d, %dx%d stride %d pad %d%s%s%s", l->cin, l->cout, l->kh, l->kw,
           l->stride, l->pad, groups, l->bias ? "" : " (no bias)",
           l->allow_sparse ? "" : " (dense only)");
}

/* NeuroBench counting: the convolution of the binarised input with the binarised weights (bias
 * excluded); padded positions hold no input, so border outputs have fewer taps. */
static void conv_count(const sb_layer *base, const sb_ctx *c, double *effective, double *dense) {
  const conv_layer *l = (const conv_layer *)base;
  const sb_act *in = base->in[0];
  const long rows = sb_act_rows(in, c->T, c->B);
  const long hw = (long)l->h * l->w;
  const int khw = l->kh * l->kw;
  double e = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : e)
  for (int ch = 0; ch < l->cin; ch++) {
    /* Nonzero weights input channel ch feeds through each tap (its group's output channels). */
    const int g = ch / l->cg, cl = ch % l->cg;
    long nzw[64 * 64];
    for (int t = 0; t < khw; t++) {
      nzw[t] = 0;
      for (int co = g * l->og; co < (g + 1) * l->og; co++)
        nzw[t] += l->W[((long)co * l->cg + cl) * khw + t] != 0.0f;
    }
    for (long r = 0; r < rows; r++) {
      const float *plane = in->x + (r * l->cin + ch) * hw;
      for (int iy = 0; iy < l->h; iy++)
        for (int ix = 0; ix < l->w; ix++) {
          if (plane[iy * l->w + ix] == 0.0f) continue;
          for (int ky = 0; ky < l->kh; ky++) {
            const int ty = iy + l->pad - ky;
            if (ty < 0 || ty % l->stride || ty / l->stride >= l->oh) continue;
            for (int kx = 0; kx < l->kw; kx++) {
              const int tx = ix + l->pad - kx;
              if (tx < 0 || tx % l->stride || tx / l->stride >= l->ow) continue;
              e += (double)nzw[ky * l->kw + kx];
            }
          }
        }
    }
  }
  /* Dense: every output channel sees cg inputs through every in-bounds tap. */
  long taps = 0;
  for (int oy = 0; oy < l->oh; oy++)
    for (int ox = 0; ox < l->ow; ox++)
      for (int ky = 0; ky < l->kh; ky++)
        for (int kx = 0; kx < l->kw; kx++) {
          const int iy = oy * l->stride - l->pad + ky, ix = ox * l->stride - l->pad + kx;
          taps += iy >= 0 && iy < l->h && ix >= 0 && ix < l->w;
        }
  *effective = e;
  *dense = (double)rows * l->cout * l->cg * taps;
}

static double conv_macs(const sb_layer *base) {
  const conv_layer *l = (const conv_layer *)base;
  return (double)l->cout * l->oh * l->ow * l->K;
}

const sb_layer_ops sb_conv2d_ops = {"conv2d",      sizeof(conv_layer), conv_build,
                                    conv_init,     conv_forward,       conv_backward,
                                    conv_describe, conv_macs,          conv_count};
