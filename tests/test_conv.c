/* Conv2d's three compute paths (dense, sparse input, sparse output gradient) agree with each
 * other and with a direct convolution, and give the same bits for any thread count. */
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "snnbench/kernels.h"
#include "snnbench/nn.h"
#include "snnbench/rng.h"

enum { T = 2, B = 3, CIN = 3, H = 9, W = 8 };

/* c1 (CIN -> mid channels) feeds spikes to c2 (mid -> out_ch). */
static sb_model *build_mid(const char *sparse, int out_ch, int stride, int groups, int mid) {
  char spec[1024];
  snprintf(spec, sizeof spec,
           "{\"layers\":[{\"name\":\"c1\",\"type\":\"conv2d\",\"out\":%d,\"kernel\":3,\"padding\":1,"
           "\"sparse\":%s},{\"type\":\"neuron\",\"threshold\":1.5},"
           "{\"name\":\"c2\",\"type\":\"conv2d\",\"out\":%d,\"kernel\":3,\"padding\":1,"
           "\"stride\":%d,\"groups\":%d,\"sparse\":%s},{\"type\":\"flatten\"},"
           "{\"type\":\"mean_time\"}]}",
           mid, sparse, out_ch, stride, groups, sparse);
  cJSON *j = cJSON_Parse(spec);
  const int oh = (H - 1) / stride + 1, ow = (W - 1) / stride + 1;
  sb_model_opts o = {.input_shape = {3, {CIN, H, W}}, .input_static = 1,
                     .n_classes = out_ch * oh * ow, .T = T, .B = B, .origin = "test"};
  sb_model *m = NULL;
  CHECK_MSG(sb_model_build(&m, j, &o) == SB_OK, "%s", sb_errmsg());
  cJSON_Delete(j);
  sb_model_init_params(m, 9);
  return m;
}

static sb_model *build(const char *sparse, int out_ch, int stride, int groups) {
  return build_mid(sparse, out_ch, stride, groups, 8);
}

/* Runs forward + backward with an output gradient of the given density. */
static void run(sb_model *m, const float *x, float grad_density) {
  sb_ctx c = {.T = T, .B = B, .train = 1, .seed = 1, .n_epochs = 1};
  sb_model_forward(m, &c, x);
  const long n = (long)B * sb_shape_numel(m->output->shape);
  sb_rng r;
  sb_rng_init(&r, 4, sb_stream(SB_STREAM_TEST, 2));
  for (long i = 0; i < n; i++) {
    const float g = sb_rng_normal(&r);
    m->output->g[i] = sb_rng_uniform(&r) < grad_density ? g : 0.0f;
  }
  sb_model_backward(m, &c);
}

static double rel_diff(const float *a, const float *b, long n) {
  double num = 0.0, den = 1e-12;
  for (long i = 0; i < n; i++) {
    num = fmax(num, fabs((double)a[i] - b[i]));
    den = fmax(den, fabs((double)a[i]));
  }
  return num / den;
}

static void paths_agree_mid(int out_ch, int stride, int groups, float grad_density, int mid) {
  float x[B * CIN * H * W];
  sb_rng r;
  sb_rng_init(&r, 3, sb_stream(SB_STREAM_TEST, 1));
  for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = 2.0f * sb_rng_normal(&r);
  sb_model *dense = build_mid("false", out_ch, stride, groups, mid);
  sb_model *sparse = build_mid("true", out_ch, stride, groups, mid);
  run(dense, x, grad_density);
  run(sparse, x, grad_density);
  const sb_layer *d2 = sb_model_find(dense, "c2"), *s2 = sb_model_find(sparse, "c2");
  /* The spikes feeding c2 must be sparse enough for the sparse path to be taken. */
  const sb_act *spikes = s2->in[0];
  const long sn = (long)T * B * sb_shape_numel(spikes->shape);
  long ones = 0;
  for (long i = 0; i < sn; i++) ones += spikes->x[i] != 0.0f;
  CHECK_MSG(ones > 0 && ones * 4 < sn, "spike density %.3f does not exercise the sparse path",
            (double)ones / sn);
  const long out_n = (long)T * B * sb_shape_numel(d2->out.shape);
  CHECK_MSG(rel_diff(d2->out.x, s2->out.x, out_n) < 1e-5, "forward, density %.2f", grad_density);
  CHECK_MSG(rel_diff(dense->grad_block, sparse->grad_block, dense->n_param_values) < 1e-4,
            "gradients, out %d stride %d groups %d grad density %.2f: rel diff %.3g", out_ch,
            stride, groups, grad_density,
            rel_diff(dense->grad_block, sparse->grad_block, dense->n_param_values));
  sb_model_free(dense);
  sb_model_free(sparse);
}

static void paths_agree(int out_ch, int stride, int groups, float grad_density) {
  paths_agree_mid(out_ch, stride, groups, grad_density, 8);
}

/* c1's output against a direct 7-loop convolution. */
static void direct_convolution(void) {
  float x[B * CIN * H * W];
  sb_rng r;
  sb_rng_init(&r, 5, sb_stream(SB_STREAM_TEST, 3));
  for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = sb_rng_normal(&r);
  sb_model *m = build("true", 6, 1, 1);
  sb_ctx c = {.T = T, .B = B, .train = 1, .seed = 1, .n_epochs = 1};
  sb_model_forward(m, &c, x);
  const sb_layer *l = sb_model_find(m, "c1");
  const sb_param *w = &m->params[0], *bias = &m->params[1];
  double worst = 0.0;
  for (int b = 0; b < B; b++)
    for (int co = 0; co < 8; co++)
      for (int oy = 0; oy < H; oy++)
        for (int ox = 0; ox < W; ox++) {
          double s = bias->w[co];
          for (int ci = 0; ci < CIN; ci++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++) {
                const int iy = oy - 1 + ky, ix = ox - 1 + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                s += (double)w->w[((co * CIN + ci) * 3 + ky) * 3 + kx] *
                     x[((b * CIN + ci) * H + iy) * W + ix];
              }
          worst = fmax(worst, fabs(s - l->out.x[((b * 8 + co) * H + oy) * W + ox]));
        }
  CHECK_MSG(worst < 1e-4, "direct convolution differs by %g", worst);
  sb_model_free(m);
}

static void thread_independent(float grad_density) {
  float x[B * CIN * H * W];
  sb_rng r;
  sb_rng_init(&r, 6, sb_stream(SB_STREAM_TEST, 4));
  for (size_t i = 0; i < sizeof x / sizeof *x; i++) x[i] = 2.0f * sb_rng_normal(&r);
  float *g[2];
  long n = 0;
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    sb_model *m = build("true", 6, 1, 1);
    run(m, x, grad_density);
    n = m->n_param_values;
    g[threads - 1] = malloc((size_t)n * sizeof(float));
    memcpy(g[threads - 1], m->grad_block, (size_t)n * sizeof(float));
    sb_model_free(m);
  }
  CHECK_MSG(memcmp(g[0], g[1], (size_t)n * sizeof(float)) == 0,
            "gradients differ between 1 and 2 threads (grad density %.2f)", grad_density);
  free(g[0]);
  free(g[1]);
}

int main(void) {
  sb_kernels_init();
  direct_convolution();
  const float densities[] = {1.0f, 0.05f};
  for (int d = 0; d < 2; d++) {
    paths_agree(6, 1, 1, densities[d]);
    paths_agree(6, 2, 1, densities[d]);
    paths_agree(4, 1, 2, densities[d]);
    /* 40 input channels to c2: the sparse-gradient gather's 32-wide blocks and its tail. */
    paths_agree_mid(6, 1, 1, densities[d], 40);
    paths_agree_mid(5, 2, 1, densities[d], 40);
    thread_independent(densities[d]);
  }
  return check_exit("test_conv");
}
