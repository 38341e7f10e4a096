/* Statistics for repeated trials: summaries with Student-t intervals. */
#ifndef SNNBENCH_STATS_H
#define SNNBENCH_STATS_H

typedef struct {
  int n;
  double mean, sd, sem;     /* sd with n−1 */
  double ci_half;           /* t_{0.975, n−1} · sd / √n; NaN when n < 2 */
  double ci_lo, ci_hi;
  double median, q1, q3;    /* linear interpolation between order statistics (numpy's default) */
  double min, max;
} sb_summary;

void sb_summarize(const double *x, int n, sb_summary *s);

/* Regularised incomplete beta I_x(a, b). */
double sb_betainc(double a, double b, double x);
/* Student-t CDF and quantile with df degrees of freedom. */
double sb_t_cdf(double t, double df);
double sb_t_quantile(double p, double df);

#endif
