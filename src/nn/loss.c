#include <math.h>

#include "snnbench/optim.h"

/* Target probability of class k for row b. */
static inline double target(const int32_t *labels, const float *soft, int b, int k, int C,
                            float smoothing) {
  const double base = soft ? soft[(long)b * C + k] : (k == labels[b] ? 1.0 : 0.0);
  return (1.0 - smoothing) * base + smoothing / C;
}

double sb_softmax_xent(const float *logits, const int32_t *labels, const float *soft, int B, int C,
                       float smoothing, float *dlogits, int *correct) {
  double total = 0.0;
  int hits = 0;
  for (int b = 0; b < B; b++) {
    const float *z = logits + (long)b * C;
    int arg = 0;
    float zmax = z[0];
    for (int k = 1; k < C; k++)
      if (z[k] > zmax) {
        zmax = z[k];
        arg = k;
      }
    hits += arg == labels[b];
    double sum = 0.0;
    for (int k = 0; k < C; k++) sum += exp((double)z[k] - zmax);
    const double log_sum = log(sum) + zmax;
    /* loss = −Σ_k target_k · log softmax_k */
    double loss = 0.0;
    for (int k = 0; k < C; k++) loss -= target(labels, soft, b, k, C, smoothing) * ((double)z[k] - log_sum);
    total += loss;
    if (dlogits) {
      for (int k = 0; k < C; k++) {
        const double p = exp((double)z[k] - log_sum);
        dlogits[(long)b * C + k] = (float)((p - target(labels, soft, b, k, C, smoothing)) / B);
      }
    }
  }
  if (correct) *correct = hits;
  return total / B;
}
