/* Cell checkpoints: format and durability are described in include/snnbench/checkpoint.h.
 *
 * Saving serialises into one buffer and hands it to sb_write_file_atomic (temp, fsync, rename).
 * Loading reads the whole file, checks length, CRC, version, byte order, cell id and every array
 * size against the freshly built model before it copies a single value, so a bad file can never
 * leave a model half-restored. */
#include "snnbench/checkpoint.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "snnbench/store.h"

static const char k_magic[8] = {'S', 'N', 'N', 'B', 'C', 'K', 'P', 'T'};
enum { FORMAT_VERSION = 1, N_CURVES = 8 };
static const uint32_t k_byte_order = 0x01020304u;

/* The curves in file order. */
static void curves_of(sb_trial_result *r, double **out[N_CURVES]) {
  double **c[N_CURVES] = {&r->train_loss, &r->train_acc, &r->val_loss, &r->val_acc,
                          &r->test_loss,  &r->test_acc,  &r->lr,       &r->epoch_time};
  memcpy(out, c, sizeof c);
}

/* ------------------------------------------------------------------ writing */

typedef struct {
  unsigned char *p;
  size_t n, cap;
} out_buf;

static void put(out_buf *b, const void *src, size_t n) {
  if (b->n + n > b->cap) {
    while (b->n + n > b->cap) b->cap = b->cap ? 2 * b->cap : 4096;
    b->p = sb_xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, src, n);
  b->n += n;
}
static void put_i32(out_buf *b, int32_t v) { put(b, &v, sizeof v); }
static void put_i64(out_buf *b, int64_t v) { put(b, &v, sizeof v); }
static void put_u64(out_buf *b, uint64_t v) { put(b, &v, sizeof v); }
static void put_f64(out_buf *b, double v) { put(b, &v, sizeof v); }
static void put_floats(out_buf *b, const float *v, long n) {
  put_i64(b, n);
  if (n) put(b, v, (size_t)n * sizeof(float));
}

sb_status sb_checkpoint_save(const char *path, const char *cell_id, const sb_train_position *pos,
                             const sb_trial_result *res, const sb_model *m,
                             const sb_optimizer *o) {
  out_buf b = {0};
  /* Parameters and the optimiser's moments dominate: reserve them up front. */
  b.cap = 4096 + (size_t)(3 * m->n_param_values) * sizeof(float);
  b.p = sb_xmalloc(b.cap);
  put(&b, k_magic, sizeof k_magic);
  put_i32(&b, FORMAT_VERSION);
  put(&b, &k_byte_order, sizeof k_byte_order);
  put(&b, cell_id, 16);

  put_i32(&b, res->n_epochs);
  put_i32(&b, pos->epoch);
  put_i64(&b, pos->batch);
  put_u64(&b, pos->step);
  put_f64(&b, pos->loss_sum);
  put_i64(&b, pos->correct);
  put_f64(&b, pos->epoch_time_s);
  put_f64(&b, res->train_time_s);
  put_f64(&b, res->eval_time_s);
  put_i32(&b, res->best_val_epoch);
  put_f64(&b, res->best_val_acc);
  put_f64(&b, res->test_acc_at_best_val);
  double **curves[N_CURVES];
  curves_of((sb_trial_result *)res, curves);
  for (int c = 0; c < N_CURVES; c++) put(&b, *curves[c], (size_t)res->n_epochs * sizeof(double));

  put_floats(&b, m->param_block, m->n_param_values);
  put_i32(&b, m->n_buffers);
  for (int i = 0; i < m->n_buffers; i++) put_floats(&b, m->buffers[i].w, m->buffers[i].n);
  put_i32(&b, (int32_t)o->kind);
  put_i64(&b, o->step);
  put_floats(&b, o->m, o->n);
  put_i32(&b, o->v != NULL);
  if (o->v) put_floats(&b, o->v, o->n);

  const uint32_t crc = (uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), b.p, b.n);
  put(&b, &crc, sizeof crc);
  sb_status st = sb_write_file_atomic(path, (const char *)b.p, b.n);
  free(b.p);
  return st;
}

/* ------------------------------------------------------------------ reading */

typedef struct {
  const unsigned char *p;
  size_t n, at;
  int bad;
} in_buf;

static int take(in_buf *b, void *dst, size_t n) {
  if (b->bad || n > b->n - b->at) {
    b->bad = 1;
    return -1;
  }
  if (dst) memcpy(dst, b->p + b->at, n);
  b->at += n;
  return 0;
}
static int32_t take_i32(in_buf *b) {
  int32_t v = 0;
  take(b, &v, sizeof v);
  return v;
}
static int64_t take_i64(in_buf *b) {
  int64_t v = 0;
  take(b, &v, sizeof v);
  return v;
}
static uint64_t take_u64(in_buf *b) {
  uint64_t v = 0;
  take(b, &v, sizeof v);
  return v;
}
static double take_f64(in_buf *b) {
  double v = 0;
  take(b, &v, sizeof v);
  return v;
}
/* A float array's position in the file, after checking its stored length. */
static const float *take_floats(in_buf *b, long expected) {
  const int64_t n = take_i64(b);
  if (b->bad || n != expected) {
    b->bad = 1;
    return NULL;
  }
  const float *at = (const float *)(b->p + b->at);
  if (take(b, NULL, (size_t)n * sizeof(float))) return NULL;
  return at;
}

/* What a checkpoint file says, as views into the file's bytes. */
typedef struct {
  char id[17];
  int n_epochs;
  sb_train_position pos;
  double train_time_s, eval_time_s, best_val_acc, test_acc_at_best_val;
  int best_val_epoch;
  const unsigned char *curves; /* N_CURVES × n_epochs doubles, maybe unaligned */
  in_buf rest;                 /* positioned at the parameters */
} parsed;

static int why_fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_fail(char *why, size_t n, const char *fmt, ...) {
  if (why && n) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
  }
  return -1;
}

/* Reads path into memory. Returns 1 if read, 0 if absent, -1 on error. */
static int read_whole(const char *path, unsigned char **data, size_t *n, char *why, size_t why_n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    if (errno == ENOENT) return 0;
    return why_fail(why, why_n, "cannot open: %s", strerror(errno));
  }
  long size = -1;
  if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
  if (size < 0 || fseek(f, 0, SEEK_SET)) {
    fclose(f);
    return why_fail(why, why_n, "cannot read its size");
  }
  *data = sb_xmalloc((unsigned long)(size ? size : 1));
  const size_t got = fread(*data, 1, (size_t)size, f);
  fclose(f);
  if (got != (size_t)size) {
    free(*data);
    *data = NULL;
    return why_fail(why, why_n, "short read");
  }
  *n = (size_t)size;
  return 1;
}

/* Checks the envelope (length, CRC, magic, version, byte order, cell id) and the header. */
static int parse_header(const unsigned char *data, size_t n, const char *cell_id, parsed *out,
                        char *why, size_t why_n) {
  const size_t min = sizeof k_magic + 8 + 16 + sizeof(uint32_t);
  if (n < min) return why_fail(why, why_n, "truncated (%zu bytes)", n);
  uint32_t stored;
  memcpy(&stored, data + n - sizeof stored, sizeof stored);
  if ((uint32_t)crc32_z(crc32_z(0L, Z_NULL, 0), data, n - sizeof stored) != stored)
    return why_fail(why, why_n, "checksum mismatch (truncated or corrupt)");
  in_buf b = {data, n - sizeof stored, 0, 0};
  char magic[8];
  take(&b, magic, sizeof magic);
  if (memcmp(magic, k_magic, sizeof magic)) return why_fail(why, why_n, "not a snnbench checkpoint");
  const int32_t version = take_i32(&b);
  uint32_t order = 0;
  take(&b, &order, sizeof order);
  if (version != FORMAT_VERSION)
    return why_fail(why, why_n, "format version %d, this build reads %d", version, FORMAT_VERSION);
  if (order != k_byte_order) return why_fail(why, why_n, "written on a machine of another byte order");
  memset(out, 0, sizeof *out);
  take(&b, out->id, 16);
  if (strncmp(out->id, cell_id, 16))
    return why_fail(why, why_n, "belongs to cell %s, not %s", out->id, cell_id);
  out->n_epochs = take_i32(&b);
  out->pos.epoch = take_i32(&b);
  out->pos.batch = (long)take_i64(&b);
  out->pos.step = take_u64(&b);
  out->pos.loss_sum = take_f64(&b);
  out->pos.correct = (long)take_i64(&b);
  out->pos.epoch_time_s = take_f64(&b);
  out->train_time_s = take_f64(&b);
  out->eval_time_s = take_f64(&b);
  out->best_val_epoch = take_i32(&b);
  out->best_val_acc = take_f64(&b);
  out->test_acc_at_best_val = take_f64(&b);
  if (b.bad || out->n_epochs < 1 || out->pos.epoch < 0 || out->pos.epoch >= out->n_epochs ||
      out->pos.batch < 0)
    return why_fail(why, why_n, "inconsistent header");
  out->curves = b.p + b.at;
  if (take(&b, NULL, (size_t)N_CURVES * (size_t)out->n_epochs * sizeof(double)))
    return why_fail(why, why_n, "truncated history");
  out->rest = b;
  return 0;
}

sb_checkpoint_outcome sb_checkpoint_load(const char *path, const char *cell_id,
                                         sb_train_position *pos, sb_trial_result *res,
                                         sb_model *m, sb_optimizer *o, char *why, size_t why_n) {
  unsigned char *data = NULL;
  size_t n = 0;
  const int r = read_whole(path, &data, &n, why, why_n);
  if (r == 0) return SB_CKPT_NONE;
  if (r < 0) return SB_CKPT_INVALID;
  parsed h;
  int bad = parse_header(data, n, cell_id, &h, why, why_n);
  if (!bad && h.n_epochs != res->n_epochs)
    bad = why_fail(why, why_n, "%d epochs, the cell has %d", h.n_epochs, res->n_epochs);

  /* Locate every array and check its size before anything is copied. */
  in_buf *b = &h.rest;
  const float *params = NULL, *opt_m = NULL, *opt_v = NULL;
  const float **buffers = sb_xcalloc((unsigned long)(m->n_buffers ? m->n_buffers : 1),
                                     sizeof *buffers);
  int32_t opt_kind = 0;
  int64_t opt_step = 0;
  if (!bad) {
    params = take_floats(b, m->n_param_values);
    const int32_t n_buffers = take_i32(b);
    if (!b->bad && n_buffers != m->n_buffers) b->bad = 1;
    for (int i = 0; !b->bad && i < m->n_buffers; i++) buffers[i] = take_floats(b, m->buffers[i].n);
    opt_kind = take_i32(b);
    opt_step = take_i64(b);
    opt_m = take_floats(b, o->n);
    const int32_t has_v = take_i32(b);
    if (!b->bad && has_v != (o->v != NULL)) b->bad = 1;
    if (has_v && !b->bad) opt_v = take_floats(b, o->n);
    if (b->bad || b->at != b->n)
      bad = why_fail(why, why_n, "its parameter, buffer or optimiser sizes do not match the model");
    else if (opt_kind != (int32_t)o->kind || opt_step < 0)
      bad = why_fail(why, why_n, "written for another optimiser");
  }
  if (bad) {
    free(buffers);
    free(data);
    return SB_CKPT_INVALID;
  }

  /* Everything checked: restore. */
  *pos = h.pos;
  memcpy(m->param_block, params, (size_t)m->n_param_values * sizeof(float));
  for (int i = 0; i < m->n_buffers; i++)
    memcpy(m->buffers[i].w, buffers[i], (size_t)m->buffers[i].n * sizeof(float));
  o->step = opt_step;
  memcpy(o->m, opt_m, (size_t)o->n * sizeof(float));
  if (o->v) memcpy(o->v, opt_v, (size_t)o->n * sizeof(float));
  double **curves[N_CURVES];
  curves_of(res, curves);
  for (int c = 0; c < N_CURVES; c++)
    memcpy(*curves[c], h.curves + (size_t)c * (size_t)h.n_epochs * sizeof(double),
           (size_t)h.n_epochs * sizeof(double));
  res->train_time_s = h.train_time_s;
  res->eval_time_s = h.eval_time_s;
  res->best_val_epoch = h.best_val_epoch;
  res->best_val_acc = h.best_val_acc;
  res->test_acc_at_best_val = h.test_acc_at_best_val;
  free(buffers);
  free(data);
  return SB_CKPT_LOADED;
}

int sb_checkpoint_peek(const char *path, const char *cell_id, int *epoch, long *batch) {
  unsigned char *data = NULL;
  size_t n = 0;
  if (read_whole(path, &data, &n, NULL, 0) != 1) return -1;
  parsed h;
  const int bad = parse_header(data, n, cell_id, &h, NULL, 0);
  free(data);
  if (bad) return -1;
  *epoch = h.pos.epoch;
  *batch = h.pos.batch;
  return 0;
}
