/* CIFAR10-DVS: DIR/<class>/cifar10_<class>_<i>.aedat for the ten CIFAR-10 class names (the
 * published class zips unpacked side by side), 1000 recordings per class, 128x128.
 * The dataset has no official test split. snnbench uses the split of Duan et al. (TEBN, NeurIPS
 * 2022) that SpikingJelly ships as CIFAR10DVSTEBNSplit: recordings 0..99 of every class are the
 * test split, 100..999 the training split. It is fixed by file name, so it does not depend on a
 * seed, and the validation split is carved from the training split as for every dataset. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static const char *const k_classes[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                          "dog",      "frog",       "horse", "ship", "truck"};
enum { TEST_PER_CLASS = 100 };

typedef struct {
  long index;
  char *name;
} recording;

static int cmp_recording(const void *a, const void *b) {
  const long x = ((const recording *)a)->index, y = ((const recording *)b)->index;
  return (x > y) - (x < y);
}

sb_status sb_cifar10dvs_load(const char *dir, sb_split *train, sb_split *test) {
  sb_split_builder btrain, btest;
  sb_builder_init_events(&btrain);
  sb_builder_init_events(&btest);
  sb_event_list l = {0};
  sb_status st = SB_OK;
  for (int c = 0; c < 10 && !st; c++) {
    char cdir[1100];
    snprintf(cdir, sizeof cdir, "%s/%s", dir, k_classes[c]);
    if (!sb_is_dir(cdir)) {
      st = sb_fail(SB_EINPUT, "%s: not found (dataset cifar10-dvs: data.path must hold one "
                   "folder per class, airplane .. truck, of cifar10_<class>_<i>.aedat files)",
                   cdir);
      break;
    }
    char **files;
    long n;
    if ((st = sb_list_dir(cdir, ".aedat", 0, &files, &n))) break;
    recording *recs = sb_xmalloc((unsigned long)(n ? n : 1) * sizeof *recs);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "cifar10_%s_", k_classes[c]);
    for (long i = 0; i < n && !st; i++) {
      const char *f = files[i], *digits = f + strlen(prefix);
      char *end = NULL;
      const long idx = strncmp(f, prefix, strlen(prefix)) ? -1 : strtol(digits, &end, 10);
      if (idx < 0 || end == digits || strcmp(end, ".aedat"))
        st = sb_fail(SB_EINPUT, "%s/%s: unexpected file name (expected %s<i>.aedat)", cdir, f,
                     prefix);
      recs[i] = (recording){idx, files[i]};
    }
    if (!st) qsort(recs, (size_t)n, sizeof *recs, cmp_recording);
    for (long i = 1; i < n && !st; i++)
      if (recs[i].index == recs[i - 1].index)
        st = sb_fail(SB_EINPUT, "%s: %s and %s are both recording %ld", cdir, recs[i - 1].name,
                     recs[i].name, recs[i].index);
    for (long i = 0; i < n && !st; i++) {
      char path[1400];
      snprintf(path, sizeof path, "%s/%s", cdir, recs[i].name);
      if (!(st = sb_aedat2_cifar10dvs_read(path, &l, NULL)))
        st = sb_builder_add_events(recs[i].index < TEST_PER_CLASS ? &btest : &btrain, &l,
                                   INT64_MIN, INT64_MAX, c, path);
    }
    free(recs);
    sb_free_names(files, n);
  }
  sb_event_list_free(&l);
  if (st) {
    sb_builder_free(&btrain);
    sb_builder_free(&btest);
    return st;
  }
  sb_builder_finish(&btrain, train);
  sb_builder_finish(&btest, test);
  train->shape = test->shape = (sb_shape){3, {2, 128, 128}};
  return SB_OK;
}
