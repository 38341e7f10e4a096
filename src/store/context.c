/* The run context: what ran, where, with which libraries, under which scheduler. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "snnbench/store.h"

static void add_env_group(cJSON *obj, const char *prefix) {
  extern char **environ;
  size_t n = strlen(prefix);
  for (char **e = environ; *e; e++) {
    if (strncmp(*e, prefix, n)) continue;
    const char *eq = strchr(*e, '=');
    if (!eq) continue;
    char key[128];
    snprintf(key, sizeof key, "%.*s", (int)(eq - *e), *e);
    cJSON_AddStringToObject(obj, key, eq + 1);
  }
}

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10)) continue;
    const char *colon = strchr(line, ':');
    if (colon) {
      snprintf(buf, n, "%s", colon + 2);
      buf[strcspn(buf, "\n")] = 0;
    }
    break;
  }
  fclose(f);
}

cJSON *sb_context_build(const sb_experiment *e, char **hosts, int n_ranks, int argc, char **argv) {
  cJSON *c = cJSON_CreateObject();
  cJSON *sb = cJSON_AddObjectToObject(c, "snnbench");
  cJSON_AddStringToObject(sb, "version", SNNBENCH_VERSION);
  cJSON_AddStringToObject(sb, "git_commit", sb_git_commit());
  cJSON_AddStringToObject(sb, "build_type", SNNBENCH_BUILD_TYPE);
  cJSON_AddStringToObject(sb, "compiler", SNNBENCH_COMPILER);

  cJSON *lib = cJSON_AddObjectToObject(c, "libraries");
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, "\n")] = 0;
  cJSON_AddStringToObject(lib, "mpi", mpi);
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  char h5[32];
  snprintf(h5, sizeof h5, "%u.%u.%u", maj, min, rel);
  cJSON_AddStringToObject(lib, "hdf5", h5);
  cJSON_AddStringToObject(lib, "openblas", openblas_get_config());
  cJSON_AddStringToObject(lib, "cjson", cJSON_Version());
  cJSON_AddStringToObject(lib, "zlib", zlibVersion());

  cJSON *h = cJSON_AddArrayToObject(c, "hosts");
  for (int r = 0; r < n_ranks; r++) cJSON_AddItemToArray(h, cJSON_CreateString(hosts[r]));
  cJSON_AddNumberToObject(c, "mpi_ranks", n_ranks);
  cJSON_AddNumberToObject(c, "omp_max_threads", omp_get_max_threads());
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  cJSON_AddStringToObject(c, "cpu_model", cpu);
  cJSON_AddNumberToObject(c, "cpus_online", (double)sysconf(_SC_NPROCESSORS_ONLN));
  add_env_group(cJSON_AddObjectToObject(c, "omp_env"), "OMP_");
  add_env_group(cJSON_AddObjectToObject(c, "slurm"), "SLURM_");

  char cmd[4096] = "";
  size_t used = 0;
  for (int i = 0; i < argc && used < sizeof cmd; i++)
    used += (size_t)snprintf(cmd + used, sizeof cmd - used, "%s%s", i ? " " : "", argv[i]);
  cJSON_AddStringToObject(c, "command", cmd);
  char cwd[1024];
  if (getcwd(cwd, sizeof cwd)) cJSON_AddStringToObject(c, "cwd", cwd);
  cJSON_AddStringToObject(c, "config_path", e->path);
  cJSON_AddStringToObject(c, "experiment", e->name);
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char t[32];
  strftime(t, sizeof t, "%Y-%m-%dT%H:%M:%SZ", &tm);
  cJSON_AddStringToObject(c, "started", t);
  return c;
}

/* An environment variable as a JSON string, or null when unset. */
static void add_env_or_null(cJSON *obj, const char *key, const char *var) {
  const char *v = getenv(var);
  if (v) cJSON_AddStringToObject(obj, key, v);
  else cJSON_AddNullToObject(obj, key);
}

void sb_context_add_start(cJSON *ctx, int resumed, int shard_index, int shard_count) {
  cJSON *s = cJSON_AddObjectToObject(ctx, "start");
  cJSON_AddStringToObject(s, "kind", resumed ? "resume" : "new");
  if (shard_count > 0) {
    char shard[32];
    snprintf(shard, sizeof shard, "%d/%d", shard_index, shard_count);
    cJSON_AddStringToObject(s, "shard", shard);
  } else {
    cJSON_AddNullToObject(s, "shard");
  }
  add_env_or_null(s, "slurm_job_id", "SLURM_JOB_ID");
  add_env_or_null(s, "slurm_array_job_id", "SLURM_ARRAY_JOB_ID");
  add_env_or_null(s, "slurm_array_task_id", "SLURM_ARRAY_TASK_ID");
  const char *restarts = getenv("SLURM_RESTART_COUNT");
  if (restarts) cJSON_AddNumberToObject(s, "slurm_restart_count", atoi(restarts));
  else if (getenv("SLURM_JOB_ID")) cJSON_AddNumberToObject(s, "slurm_restart_count", 0);
  else cJSON_AddNullToObject(s, "slurm_restart_count");
}

sb_status sb_context_save(const char *out_dir, const cJSON *ctx) {
  char *text = cJSON_Print(ctx);
  char path[1400], dir[1100];
  snprintf(dir, sizeof dir, "%s/contexts", out_dir);
  sb_status st = sb_mkdir_p(dir);
  if (!st) {
    /* UTC time to the millisecond first, so names sort in start order. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char stamp[40];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    char host[256] = "host";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(path, sizeof path, "%s/%s.%03ldZ-%s-%ld.json", dir, stamp, ts.tv_nsec / 1000000,
             host, (long)getpid());
    st = sb_write_file_atomic(path, text, strlen(text));
  }
  snprintf(path, sizeof path, "%s/context.json", out_dir);
  struct stat sbuf;
  if (!st && stat(path, &sbuf) != 0) st = sb_write_file_atomic(path, text, strlen(text));
  free(text);
  return st;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

cJSON *sb_context_history(const char *out_dir) {
  cJSON *all = cJSON_CreateArray();
  char dir[1100];
  snprintf(dir, sizeof dir, "%s/contexts", out_dir);
  DIR *d = opendir(dir);
  if (!d) return all;
  char **names = NULL;
  int n = 0, cap = 0;
  for (struct dirent *de; (de = readdir(d));) {
    const size_t len = strlen(de->d_name);
    if (de->d_name[0] == '.' || len < 6 || strcmp(de->d_name + len - 5, ".json")) continue;
    if (n == cap) names = sb_xrealloc(names, (unsigned long)(cap = cap ? 2 * cap : 16) * sizeof *names);
    names[n++] = sb_xstrdup(de->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_names);
  extern sb_status sb_json_parse_file(const char *, char **, cJSON **);
  for (int i = 0; i < n; i++) {
    char path[1400], *text = NULL;
    cJSON *c = NULL;
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    if (sb_json_parse_file(path, &text, &c) == SB_OK) cJSON_AddItemToArray(all, c);
    else sb_clear_error();
    free(text);
    free(names[i]);
  }
  free(names);
  return all;
}

void sb_print_info(void) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, "\n")] = 0;
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("snnbench  %s (git %s, %s build, %s)\n", SNNBENCH_VERSION, sb_git_commit(),
         SNNBENCH_BUILD_TYPE, SNNBENCH_COMPILER);
  printf("MPI       %s\n", mpi);
  printf("HDF5      %u.%u.%u\n", maj, min, rel);
  printf("OpenBLAS  %s\n", openblas_get_config());
  printf("cJSON     %s\n", cJSON_Version());
  printf("zlib      %s\n", zlibVersion());
  printf("OpenMP    %d threads (OMP_NUM_THREADS=%s)\n", omp_get_max_threads(),
         getenv("OMP_NUM_THREADS") ? getenv("OMP_NUM_THREADS") : "unset");
  printf("CPU       %s, %ld online\n", cpu, (long)sysconf(_SC_NPROCESSORS_ONLN));
}
