#include <math.h>

#include "snnbench/optim.h"

double sb_softmax_xent(const float *logits, const int32_t *labels, int B, int C, float smoothing,
                       float *dlogits, int *correct) {
  double total = 0.0;
  int hits = 0;
  const float off = smoothing / (float)C, on = 1.0f - smoothing + off;
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
    for (int k = 0; k < C; k++) {
      const double target = k == labels[b] ? on : off;
      loss -= target * ((double)z[k] - log_sum);
    }
    total += loss;
    if (dlogits) {
      for (int k = 0; k < C; k++) {
        const double p = exp((double)z[k] - log_sum);
        const double target = k == labels[b] ? on : off;
        dlogits[(long)b * C + k] = (float)((p - target) / B);
      }
    }
  }
  if (correct) *correct = hits;
  return total / B;
}
