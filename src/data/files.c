/* Whole-file reads and sorted directory listings for the dataset readers. Listings are sorted so
 * sample order (and with it every split and subset) does not depend on the file system. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data/data_internal.h"

int sb_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int sb_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

sb_status sb_read_file(const char *path, long max_bytes, uint8_t **buf, long *len) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f) return sb_fail(SB_EINPUT, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(f);
    return sb_fail(SB_EINPUT, "%s: not a regular file", path);
  }
  if ((long long)st.st_size > max_bytes) {
    fclose(f);
    return sb_fail(SB_EINPUT, "%s: %lld bytes, more than the %ld this format allows", path,
                   (long long)st.st_size, max_bytes);
  }
  const long n = (long)st.st_size;
  uint8_t *b = sb_xmalloc((unsigned long)(n ? n : 1));
  const size_t got = fread(b, 1, (size_t)n, f);
  const int err = ferror(f);
  fclose(f);
  if (err || (long)got != n) {
    free(b);
    return sb_fail(SB_EINPUT, "%s: read error after %zu of %ld bytes", path, got, n);
  }
  *buf = b;
  *len = n;
  return SB_OK;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix) {
  const size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

sb_status sb_list_dir(const char *dir, const char *suffix, int dirs_only, char ***names,
                      long *n) {
  *names = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return sb_fail(SB_EINPUT, "%s: cannot open directory: %s", dir, strerror(errno));
  long cap = 64, count = 0;
  char **list = sb_xmalloc((unsigned long)cap * sizeof(char *));
  for (struct dirent *e; (e = readdir(d));) {
    if (e->d_name[0] == '.' || !ends_with(e->d_name, suffix)) continue;
    char full[4096];
    if (snprintf(full, sizeof full, "%s/%s", dir, e->d_name) >= (int)sizeof full) continue;
    if (dirs_only ? !sb_is_dir(full) : !sb_is_file(full)) continue;
    if (count == cap) {
      cap *= 2;
      list = sb_xrealloc(list, (unsigned long)cap * sizeof(char *));
    }
    list[count++] = sb_xstrdup(e->d_name);
  }
  closedir(d);
  qsort(list, (size_t)count, sizeof(char *), cmp_names);
  *names = list;
  *n = count;
  return SB_OK;
}

void sb_free_names(char **names, long n) {
  for (long i = 0; i < n; i++) free(names[i]);
  free(names);
}
