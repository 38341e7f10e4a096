/* Reducing a run to summary tables over seeds. */
#ifndef SNNBENCH_REDUCE_H
#define SNNBENCH_REDUCE_H

#include "snnbench/error.h"

/* DIR is a run directory (merged first) or a results.h5 file. Writes summary.{md,csv,json}. */
sb_status sb_reduce_dir(const char *dir, int print);
sb_status sb_reduce_file(const char *results, const char *out_dir, int print);

#endif
