/* The run context: what ran, where, with which libraries, under which scheduler. */
#include <cblas.h>
#include <cjson/cJSON.h>
#include <hdf5.h>
#include <mpi.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
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
  cJSON_AddStringToObject(sb, "git_commit", SNNBENCH_GIT);
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

void sb_print_info(void) {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len;
  MPI_Get_library_version(mpi, &len);
  mpi[strcspn(mpi, "\n")] = 0;
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  char cpu[256];
  cpu_model(cpu, sizeof cpu);
  printf("snnbench  %s (git %s, %s build, %s)\n", SNNBENCH_VERSION, SNNBENCH_GIT,
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
