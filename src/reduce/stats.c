#include "snnbench/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/error.h"

/* Continued fraction for I_x(a, b) by the modified Lentz method; converges for
 * x < (a + 1) / (a + b + 2), the other side uses the symmetry I_x(a,b) = 1 − I_{1−x}(b,a). */
static double betacf(double a, double b, double x) {
  const double tiny = 1e-300, eps = 1e-15;
  double c = 1.0, d = 1.0 - (a + b) * x / (a + 1.0);
  if (fabs(d) < tiny) d = tiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 1000; m++) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
    d = 1.0 + aa * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
    d = 1.0 + aa * d;
    if (fabs(d) < tiny) d = tiny;
    c = 1.0 + aa / c;
    if (fabs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (fabs(del - 1.0) < eps) break;
  }
  return h;
}

double sb_betainc(double a, double b, double x) {
  if (x <= 0.0) return 0.0;
  if (x >= 1.0) return 1.0;
  const double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0)) return exp(lbt) * betacf(a, b, x) / a;
  return 1.0 - exp(lbt) * betacf(b, a, 1.0 - x) / b;
}

double sb_t_cdf(double t, double df) {
  const double tail = 0.5 * sb_betainc(0.5 * df, 0.5, df / (df + t * t));
  return t >= 0 ? 1.0 - tail : tail;
}

double sb_t_quantile(double p, double df) {
  if (p <= 0.0) return -INFINITY;
  if (p >= 1.0) return INFINITY;
  if (p < 0.5) return -sb_t_quantile(1.0 - p, df);
  /* Bisection on the monotone CDF: slow but exact to double precision, and called rarely. */
  double lo = 0.0, hi = 1.0;
  while (sb_t_cdf(hi, df) < p) hi *= 2.0;
  for (int i = 0; i < 200 && hi - lo > 1e-14 * (1.0 + hi); i++) {
    const double mid = 0.5 * (lo + hi);
    if (sb_t_cdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double quantile_sorted(const double *s, int n, double q) {
  const double pos = q * (n - 1);
  const int i = (int)floor(pos);
  const double f = pos - i;
  return i + 1 < n ? s[i] + f * (s[i + 1] - s[i]) : s[n - 1];
}

void sb_summarize(const double *x, int n, sb_summary *s) {
  memset(s, 0, sizeof *s);
  s->n = n;
  if (n == 0) {
    s->mean = s->sd = s->sem = s->ci_half = s->ci_lo = s->ci_hi = NAN;
    s->median = s->q1 = s->q3 = s->min = s->max = NAN;
    return;
  }
  double sum = 0.0;
  for (int i = 0; i < n; i++) sum += x[i];
  s->mean = sum / n;
  double ss = 0.0;
  for (int i = 0; i < n; i++) ss += (x[i] - s->mean) * (x[i] - s->mean);
  if (n >= 2) {
    s->sd = sqrt(ss / (n - 1));
    s->sem = s->sd / sqrt((double)n);
    s->ci_half = sb_t_quantile(0.975, n - 1) * s->sem;
  } else {
    s->sd = s->sem = s->ci_half = NAN;
  }
  s->ci_lo = s->mean - s->ci_half;
  s->ci_hi = s->mean + s->ci_half;
  double *sorted = sb_xmalloc((unsigned long)n * sizeof(double));
  memcpy(sorted, x, (size_t)n * sizeof(double));
  qsort(sorted, (size_t)n, sizeof(double), cmp_double);
  s->min = sorted[0];
  s->max = sorted[n - 1];
  s->median = quantile_sorted(sorted, n, 0.5);
  s->q1 = quantile_sorted(sorted, n, 0.25);
  s->q3 = quantile_sorted(sorted, n, 0.75);
  free(sorted);
}
