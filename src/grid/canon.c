/* Canonical JSON and the hash behind cell ids. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snnbench/config.h"

static int cmp_keys(const void *a, const void *b) {
  return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sorts object members by key, recursively, by relinking the child lists. */
static void sort_keys(cJSON *j) {
  if (!j) return;
  for (cJSON *c = j->child; c; c = c->next) sort_keys(c);
  if (!cJSON_IsObject(j) || !j->child) return;
  int n = cJSON_GetArraySize(j);
  cJSON **items = sb_xmalloc((unsigned long)n * sizeof *items);
  int i = 0;
  for (cJSON *c = j->child; c; c = c->next) items[i++] = c;
  qsort(items, (size_t)n, sizeof *items, cmp_keys);
  for (i = 0; i < n; i++) {
    items[i]->prev = i ? items[i - 1] : items[n - 1];  /* cJSON keeps child->prev = last */
    items[i]->next = i + 1 < n ? items[i + 1] : NULL;
  }
  j->child = items[0];
  free(items);
}

char *sb_json_canonical(const cJSON *j) {
  cJSON *copy = cJSON_Duplicate(j, 1);
  sort_keys(copy);
  char *s = cJSON_PrintUnformatted(copy);
  cJSON_Delete(copy);
  return s;
}

uint64_t sb_hash64(const void *data, size_t n, uint64_t seed) {
  /* FNV-1a, 64-bit, chained through `seed` so several strings hash as one. */
  uint64_t h = 0xcbf29ce484222325ull ^ seed;
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

void sb_hash_hex(const void *data, size_t n, uint64_t seed, char out[17]) {
  snprintf(out, 17, "%016llx", (unsigned long long)sb_hash64(data, n, seed));
}
