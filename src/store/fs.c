/* Durable file operations: a file is either complete on disk or absent. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snnbench/store.h"

const char *sb_tmp_suffix(void) {
  static char suffix[300];
  if (!suffix[0]) {
    char host[256] = "host";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = 0;
    snprintf(suffix, sizeof suffix, ".tmp.%s.%ld", host, (long)getpid());
  }
  return suffix;
}

sb_status sb_mkdir_p(const char *path) {
  char buf[1024];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buf, 0777) && errno != EEXIST)
      return sb_fail(SB_ERUNTIME, "%s: cannot create directory: %s", buf, strerror(errno));
    *p = '/';
  }
  if (mkdir(buf, 0777) && errno != EEXIST)
    return sb_fail(SB_ERUNTIME, "%s: cannot create directory: %s", buf, strerror(errno));
  return SB_OK;
}

sb_status sb_fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return sb_fail(SB_ERUNTIME, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  /* Some filesystems refuse fsync on directories; the rename is still atomic there. */
  if (rc && errno != EINVAL && errno != EROFS)
    return sb_fail(SB_ERUNTIME, "%s: fsync failed: %s", dir, strerror(errno));
  return SB_OK;
}

sb_status sb_write_file_atomic(const char *path, const char *text, size_t n) {
  char tmp[1400];
  snprintf(tmp, sizeof tmp, "%s%s", path, sb_tmp_suffix());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  if (fd < 0) return sb_fail(SB_ERUNTIME, "%s: cannot create: %s", tmp, strerror(errno));
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, text + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      close(fd);
      unlink(tmp);
      return sb_fail(SB_ERUNTIME, "%s: write failed: %s", tmp, strerror(errno));
    }
    done += (size_t)w;
  }
  if (fsync(fd) || close(fd)) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: fsync failed: %s", tmp, strerror(errno));
  }
  if (rename(tmp, path)) {
    unlink(tmp);
    return sb_fail(SB_ERUNTIME, "%s: rename failed: %s", path, strerror(errno));
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  return sb_fsync_dir(dirname(dir));
}
