/* Split builders (how readers hand over decoded samples) and event binning. Event datasets stay
 * events in memory (6 bytes per event) and are binned into frames per batch: frames at the
 * cell's T would take 2·H·W·T floats per sample, hundreds of times more for DVS128 Gesture. */
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"

static void grow_samples(sb_split_builder *b) {
  if (b->n < b->cap) return;
  b->cap = b->cap ? 2 * b->cap : 1024;
  b->y = sb_xrealloc(b->y, (unsigned long)b->cap * sizeof(int32_t));
  if (b->kind == SB_DATA_IMAGES)
    b->u8 = sb_xrealloc(b->u8, (unsigned long)(b->cap * b->sample_bytes));
  else
    b->off = sb_xrealloc(b->off, (unsigned long)(b->cap + 1) * sizeof(int64_t));
}

void sb_builder_init_images(sb_split_builder *b, long sample_bytes) {
  memset(b, 0, sizeof *b);
  b->kind = SB_DATA_IMAGES;
  b->sample_bytes = sample_bytes;
}

void sb_builder_init_events(sb_split_builder *b) {
  memset(b, 0, sizeof *b);
  b->kind = SB_DATA_EVENTS;
  b->off = sb_xmalloc(sizeof(int64_t));
  b->off[0] = 0;
}

void sb_builder_add_image(sb_split_builder *b, const uint8_t *pixels, int32_t label) {
  grow_samples(b);
  memcpy(b->u8 + b->n * b->sample_bytes, pixels, (size_t)b->sample_bytes);
  b->y[b->n++] = label;
}

void sb_event_list_push(sb_event_list *l, uint16_t xyp, int64_t t) {
  if (l->n == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 4096;
    l->xyp = sb_xrealloc(l->xyp, (unsigned long)l->cap * sizeof(uint16_t));
    l->t = sb_xrealloc(l->t, (unsigned long)l->cap * sizeof(int64_t));
  }
  l->xyp[l->n] = xyp;
  l->t[l->n++] = t;
}

void sb_event_list_free(sb_event_list *l) {
  free(l->xyp);
  free(l->t);
  memset(l, 0, sizeof *l);
}

sb_status sb_builder_add_events(sb_split_builder *b, const sb_event_list *l, int64_t t_lo,
                                int64_t t_hi, int32_t label, const char *what) {
  int64_t count = 0, tmin = INT64_MAX, tmax = INT64_MIN;
  for (int64_t i = 0; i < l->n; i++) {
    const int64_t t = l->t[i];
    if (t < t_lo || t >= t_hi) continue;
    count++;
    if (t < tmin) tmin = t;
    if (t > tmax) tmax = t;
  }
  if (count && tmax - tmin > (int64_t)UINT32_MAX)
    return sb_fail(SB_EINPUT, "%s: one sample spans %lld µs, more than the 2^32 - 1 µs a sample "
                   "may span", what, (long long)(tmax - tmin));
  grow_samples(b);
  if (b->n_ev + count > b->cap_ev) {
    int64_t cap = b->cap_ev ? b->cap_ev : 1 << 16;
    while (cap < b->n_ev + count) cap *= 2;
    b->xyp = sb_xrealloc(b->xyp, (unsigned long)cap * sizeof(uint16_t));
    b->t = sb_xrealloc(b->t, (unsigned long)cap * sizeof(uint32_t));
    b->cap_ev = cap;
  }
  for (int64_t i = 0; i < l->n; i++) {
    const int64_t t = l->t[i];
    if (t < t_lo || t >= t_hi) continue;
    b->xyp[b->n_ev] = l->xyp[i];
    b->t[b->n_ev++] = (uint32_t)(t - tmin);
  }
  b->y[b->n] = label;
  b->off[++b->n] = b->n_ev;
  return SB_OK;
}

void sb_builder_finish(sb_split_builder *b, sb_split *s) {
  memset(s, 0, sizeof *s);
  s->n = b->n;
  /* Shrink to size: the builder doubled its way up. */
  s->y = sb_xrealloc(b->y, (unsigned long)(b->n ? b->n : 1) * sizeof(int32_t));
  if (b->kind == SB_DATA_IMAGES) {
    s->u8 = sb_xrealloc(b->u8, (unsigned long)(b->n ? b->n * b->sample_bytes : 1));
  } else {
    s->ev_off = sb_xrealloc(b->off, (unsigned long)(b->n + 1) * sizeof(int64_t));
    s->ev_xyp = sb_xrealloc(b->xyp, (unsigned long)(b->n_ev ? b->n_ev : 1) * sizeof(uint16_t));
    s->ev_t = sb_xrealloc(b->t, (unsigned long)(b->n_ev ? b->n_ev : 1) * sizeof(uint32_t));
  }
  memset(b, 0, sizeof *b);
}

void sb_builder_free(sb_split_builder *b) {
  free(b->y);
  free(b->u8);
  free(b->off);
  free(b->xyp);
  free(b->t);
  memset(b, 0, sizeof *b);
}

void sb_split_free(sb_split *s) {
  free(s->y);
  free(s->u8);
  free(s->ev_off);
  free(s->ev_xyp);
  free(s->ev_t);
  memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------------ binning */

uint32_t sb_events_span(const uint32_t *t, int64_t n) {
  uint32_t span = 0;
  for (int64_t i = 0; i < n; i++)
    if (t[i] > span) span = t[i];
  return span;
}

void sb_events_to_frames(const uint16_t *xyp, const uint32_t *t, int64_t n, int T,
                         sb_split_by by, int H, int W, float *frames, long stride) {
  const long plane = (long)H * W;
  for (int j = 0; j < T; j++) memset(frames + j * stride, 0, (size_t)(2 * plane) * sizeof(float));
  if (n == 0) return;
  if (by == SB_SPLIT_BY_NUMBER) {
    /* SpikingJelly: fewer events than frames (di = 0) puts them all in the last frame. */
    const int64_t di = n / T;
    for (int64_t i = 0; i < n; i++) {
      const int64_t j = di ? (i / di < T - 1 ? i / di : T - 1) : T - 1;
      const uint16_t a = xyp[i];
      frames[j * stride + sb_event_p(a) * plane + (long)sb_event_y(a) * W + sb_event_x(a)] += 1.0f;
    }
  } else {
    const uint32_t dt = sb_events_span(t, n) / (uint32_t)T;
    SB_ASSERT(dt > 0);  /* the pipeline refuses samples shorter than T µs before training */
    for (int64_t i = 0; i < n; i++) {
      const uint32_t q = t[i] / dt;
      const long j = q < (uint32_t)(T - 1) ? (long)q : T - 1;
      const uint16_t a = xyp[i];
      frames[j * stride + sb_event_p(a) * plane + (long)sb_event_y(a) * W + sb_event_x(a)] += 1.0f;
    }
  }
}

void sb_frames_finish(float *frames, int T, long numel, long stride, int clip,
                      sb_frame_norm norm) {
  if (clip > 0)
    for (int j = 0; j < T; j++)
      for (long i = 0; i < numel; i++)
        if (frames[j * stride + i] > (float)clip) frames[j * stride + i] = (float)clip;
  float divisor = 1.0f;
  if (norm == SB_FRAMES_BY_CLIP) {
    divisor = (float)clip;
  } else if (norm == SB_FRAMES_BY_MAX) {
    for (int j = 0; j < T; j++)
      for (long i = 0; i < numel; i++)
        if (frames[j * stride + i] > divisor) divisor = frames[j * stride + i];
  }
  /* Divide rather than multiply by a reciprocal, so 3 / 10 is exactly the float nearest 0.3. */
  if (divisor != 1.0f)
    for (int j = 0; j < T; j++)
      for (long i = 0; i < numel; i++) frames[j * stride + i] /= divisor;
}
