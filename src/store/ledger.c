/* The append-only ledger. Each event is one line written with a single write() on an O_APPEND
 * descriptor and fsynced before the caller moves on, so a crash can at worst tear the last line,
 * which the reader skips (and the next event starts on a fresh line after it). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snnbench/store.h"

static void iso_time(char *buf, size_t n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

sb_status sb_ledger_append(const char *out_dir, const char *ledger_name, const sb_ledger_entry *e) {
  cJSON *j = cJSON_CreateObject();
  char t[40];
  iso_time(t, sizeof t);
  cJSON_AddStringToObject(j, "time", t);
  cJSON_AddStringToObject(j, "event", e->event);
  cJSON_AddStringToObject(j, "cell", e->cell);
  cJSON_AddNumberToObject(j, "rank", e->rank);
  cJSON_AddStringToObject(j, "host", e->host ? e->host : "");
  cJSON_AddNumberToObject(j, "attempt", e->attempt);
  if (e->seconds > 0) cJSON_AddNumberToObject(j, "seconds", e->seconds);
  if (e->message) cJSON_AddStringToObject(j, "message", e->message);
  if (e->job) cJSON_AddStringToObject(j, "job", e->job);
  if (e->restart >= 0) cJSON_AddNumberToObject(j, "restart", e->restart);
  char *text = cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  const size_t len = strlen(text);
  /* Room for a leading newline (see below) and the trailing one. */
  char *line = sb_xmalloc(len + 3);
  line[0] = '\n';
  memcpy(line + 1, text, len);
  line[len + 1] = '\n';
  line[len + 2] = 0;
  free(text);

  char path[1100];
  snprintf(path, sizeof path, "%s/%s", out_dir, ledger_name);
  sb_status st = SB_OK;
  int fd = open(path, O_RDWR | O_APPEND | O_CREAT, 0666);
  if (fd < 0) {
    st = sb_fail(SB_ERUNTIME, "%s: cannot open: %s", path, strerror(errno));
  } else {
    /* A kill -9 mid-write can leave a torn last line without its newline. This event must not
     * be glued onto it (the reader would drop both), so it then starts on a line of its own; the
     * torn line stays unparseable and is skipped. Only rank 0 appends to a ledger file, so
     * nothing can land between this check and the write. */
    struct stat s;
    char last = '\n';
    if (fstat(fd, &s) == 0 && s.st_size > 0 && pread(fd, &last, 1, s.st_size - 1) != 1)
      last = '\n';
    const char *start = last == '\n' ? line + 1 : line;
    const size_t n = len + 1 + (last == '\n' ? 0 : 1);
    ssize_t w = write(fd, start, n);
    if (w != (ssize_t)n || fsync(fd))
      st = sb_fail(SB_ERUNTIME, "%s: append failed: %s", path, strerror(errno));
    close(fd);
  }
  free(line);
  return st;
}

const sb_ledger_cell *sb_ledger_find(const sb_ledger_cell *cells, int n, const char *id) {
  for (int i = 0; i < n; i++)
    if (!strcmp(cells[i].id, id)) return &cells[i];
  return NULL;
}

/* Adds the events of one ledger file to the summary. */
static sb_status read_one(const char *path, sb_ledger_cell **cells, int *n, int *cap,
                          int *bad_lines) {
  FILE *f = fopen(path, "r");
  if (!f) {
    if (errno == ENOENT) return SB_OK;
    return sb_fail(SB_ERUNTIME, "%s: cannot open: %s", path, strerror(errno));
  }
  char *line = NULL;
  size_t lcap = 0;
  while (getline(&line, &lcap, f) > 0) {
    cJSON *j = cJSON_Parse(line);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(j, "event");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "cell");
    const cJSON *att = cJSON_GetObjectItemCaseSensitive(j, "attempt");
    if (!cJSON_IsString(ev) || !cJSON_IsString(id) || strlen(id->valuestring) != 16) {
      (*bad_lines)++;
      cJSON_Delete(j);
      continue;
    }
    sb_ledger_cell *c = (sb_ledger_cell *)sb_ledger_find(*cells, *n, id->valuestring);
    if (!c) {
      if (*n == *cap)
        *cells = sb_xrealloc(*cells, (unsigned long)(*cap = *cap ? 2 * *cap : 64) * sizeof **cells);
      c = &(*cells)[(*n)++];
      memset(c, 0, sizeof *c);
      snprintf(c->id, sizeof c->id, "%s", id->valuestring);
    }
    if (!strcmp(ev->valuestring, "started")) c->started++;
    else if (!strcmp(ev->valuestring, "done")) c->done++;
    else if (!strcmp(ev->valuestring, "failed")) c->failed++;
    else if (!strcmp(ev->valuestring, "interrupted")) c->interrupted++;
    if (cJSON_IsNumber(att) && att->valueint > c->last_attempt) c->last_attempt = att->valueint;
    /* A done event whose message says the cell resumed from a checkpoint timed only part of
     * the cell: it says nothing about the cell's whole cost. */
    const cJSON *secs = cJSON_GetObjectItemCaseSensitive(j, "seconds");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const int resumed = cJSON_IsString(msg) && !strncmp(msg->valuestring, "resumed", 7);
    if (!strcmp(ev->valuestring, "done") && !resumed && cJSON_IsNumber(secs) &&
        secs->valuedouble > 0)
      c->whole_seconds = secs->valuedouble;
    cJSON_Delete(j);
  }
  free(line);
  fclose(f);
  return SB_OK;
}

/* ledger.jsonl and the shards' ledger.*.jsonl. */
static int is_ledger_name(const char *name) {
  const size_t n = strlen(name);
  if (!strcmp(name, "ledger.jsonl")) return 1;
  return n > strlen("ledger..jsonl") && !strncmp(name, "ledger.", 7) &&
         !strcmp(name + n - 6, ".jsonl");
}

sb_status sb_ledger_read(const char *out_dir, sb_ledger_cell **cells, int *n, int *bad_lines) {
  *cells = NULL;
  *n = 0;
  *bad_lines = 0;
  DIR *d = opendir(out_dir);
  if (!d) {
    if (errno == ENOENT) return SB_OK;
    return sb_fail(SB_ERUNTIME, "%s: cannot open directory: %s", out_dir, strerror(errno));
  }
  int cap = 0;
  sb_status st = SB_OK;
  for (struct dirent *de; !st && (de = readdir(d));) {
    if (!is_ledger_name(de->d_name)) continue;
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", out_dir, de->d_name);
    st = read_one(path, cells, n, &cap, bad_lines);
  }
  closedir(d);
  if (st) {
    free(*cells);
    *cells = NULL;
    *n = 0;
  }
  return st;
}
